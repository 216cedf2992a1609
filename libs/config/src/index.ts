export * from './app-config';
export * from './load-config';
export * from './config.module';
export * from './local-postgres-clusters';
export * from './local-kafka';
