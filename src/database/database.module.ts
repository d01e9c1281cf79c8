import { Global, Logger, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { databaseConfig } from '../config/settings';
import { dataSourceOptions } from './data-source-options';
import { runMigrationsLocked } from './migrate';
import { ReplicaReads } from './replica-reads';
import { Transactions } from './transactions';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (db: ConfigType<typeof databaseConfig>) => ({
        ...dataSourceOptions(db),
        autoLoadEntities: true,
        // Failed queries reach the error filter, which logs them without their parameters (which can
        // hold customer data); TypeORM's own logger would print every parameter.
        logging: false,
        // Fail start-up promptly instead of retrying for minutes.
        retryAttempts: 3,
        retryDelay: 1000,
      }),
      // The schema is brought up to date before any provider can query it.
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource(options!).initialize();
        const applied = await runMigrationsLocked(dataSource);
        if (applied.length) new Logger('Database').log(`applied migrations: ${applied.join(', ')}`);
        return dataSource;
      },
    }),
  ],
  providers: [Transactions, ReplicaReads],
  exports: [Transactions, ReplicaReads],
})
export class DatabaseModule {}
