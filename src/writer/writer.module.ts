import { Module } from '@nestjs/common';
import { BufferedWriter } from './buffered-writer.service';
import { WriterMetrics } from './writer-metrics';

/**
 * Not global on purpose, like the modules that use it: Nest shuts imported modules down before global
 * ones, so the writer's last flush runs while the (global) database connection is still open.
 */
@Module({
  providers: [BufferedWriter, WriterMetrics],
  exports: [BufferedWriter],
})
export class WriterModule {}
