import { Module } from '@nestjs/common';
import { AdmissionModule } from '../admission/admission.module';
import { AuthorizeController } from './authorize.controller';
import { AuthorizeService } from './authorize.service';

/** Forward auth: `/v1/keys/authorize` for nginx, Caddy, Envoy, HAProxy and Traefik (docs/gateways.md). */
@Module({ imports: [AdmissionModule], controllers: [AuthorizeController], providers: [AuthorizeService] })
export class GatewayModule {}
