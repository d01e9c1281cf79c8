import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { BootstrapService } from './bootstrap.service';
import { KeysController } from './keys.controller';
import { MeKeysController } from './me-keys.controller';

@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  controllers: [KeysController, MeKeysController],
  providers: [ApiKeysService, BootstrapService],
  exports: [ApiKeysService, BootstrapService],
})
export class KeysModule {}
