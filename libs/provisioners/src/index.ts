export * from './provisioners.module';
export * from './provisioner.registry';
export * from './provider-call-metrics';
export * from './http-vendor/http-vendor.provisioner';
export * from './postgres/postgres-adapter.module';
export * from './postgres/postgres.provisioner';
export * from './redis/redis-adapter.module';
export * from './redis/redis.provisioner';
