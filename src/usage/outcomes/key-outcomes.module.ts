import { Module } from '@nestjs/common';
import { WriterModule } from '../../writer/writer.module';
import { KeyOutcomeRecorder } from './key-outcome-recorder.service';
import { KeyOutcomesController } from './key-outcomes.controller';
import { KeyOutcomesService } from './key-outcomes.service';

/** Not global, like UsageModule: the buffered writer's last flush runs while the (global) database connection is open. */
@Module({
  imports: [WriterModule],
  controllers: [KeyOutcomesController],
  providers: [KeyOutcomeRecorder, KeyOutcomesService],
  exports: [KeyOutcomeRecorder],
})
export class KeyOutcomesModule {}
