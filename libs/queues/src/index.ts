export * from './queue-names';
export * from './backoff';
export * from './queue-options';
export * from './bullmq-job-dispatcher';
export * from './queues.module';
export * from './webhook-jobs';
export * from './bullmq-webhook-dispatcher';
export * from './webhook-queues.module';
