import { Logger, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { AdminMeController } from './admin-me.controller';
import { registerDashboardAssets } from './dashboard-assets';

/** The operator console at /dashboard (static files; its data comes from the API like any client's). */
@Module({ controllers: [AdminMeController] })
export class DashboardModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Before the server listens: Fastify loads plugins registered until it becomes ready. */
  async onModuleInit(): Promise<void> {
    const fastify: FastifyInstance = this.adapterHost.httpAdapter.getInstance();
    if (!(await registerDashboardAssets(fastify))) {
      new Logger('Dashboard').log('the console is not built (npm run build builds it): /dashboard is not served');
    }
  }
}
