import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { BootstrapService } from './bootstrap.service';
import { KeyImportController } from './key-import.controller';
import { KeyImportService } from './key-import.service';
import { KeysController } from './keys.controller';
import { MeKeysController } from './me-keys.controller';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  controllers: [KeysController, KeyImportController, MeKeysController],
  providers: [ApiKeysService, KeyImportService, BootstrapService],
  exports: [ApiKeysService, KeyImportService, BootstrapService],
})
export class KeysModule {}
