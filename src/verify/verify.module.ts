import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { VerifyController } from './verify.controller';
import { VerifyService } from './verify.service';

@Module({ imports: [AdmissionModule], controllers: [VerifyController], providers: [VerifyService] })
export class VerifyModule {}
