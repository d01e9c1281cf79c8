import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { validateEnv } from './src/config/env.validation';
import { dataSourceOptions } from './src/database/data-source-options';

/** For the TypeORM CLI (`npx typeorm-ts-node-commonjs migration:run -d ormconfig.ts`). */
export default new DataSource(dataSourceOptions(validateEnv(process.env)));
