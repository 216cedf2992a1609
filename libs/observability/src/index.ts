export * from './log-context';
export * from './logger';
export * from './heartbeat';
export * from './ops.module';
export * from './http-metrics.middleware';
