import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfig } from './src/config/settings';
import { dataSourceOptions } from './src/database/data-source-options';

/** For the TypeORM CLI (`npx typeorm-ts-node-commonjs migration:run -d ormconfig.ts`). */
export default new DataSource(dataSourceOptions(databaseConfig()));
