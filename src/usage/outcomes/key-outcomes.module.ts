import { Module } from '@nestjs/common';
import { KeyOutcomeRecorder } from './key-outcome-recorder.service';
import { KeyOutcomesController } from './key-outcomes.controller';
import { KeyOutcomesService } from './key-outcomes.service';

/** Not global, like UsageModule: its last flush runs while the (global) database connection is open. */
@Module({
  controllers: [KeyOutcomesController],
  providers: [KeyOutcomeRecorder, KeyOutcomesService],
  exports: [KeyOutcomeRecorder],
})
export class KeyOutcomesModule {}
