export * from './data-source';
export * from './persistence.module';
export * from './repositories/typeorm-store';
export * from './entities';
export { MIGRATIONS } from './migrations';
export * from './domain-options.module';
export * from './webhooks-persistence.module';
export * from './browser-session-persistence.module';
export * from './pg-dedicated-persistence.module';
