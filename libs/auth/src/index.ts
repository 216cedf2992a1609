export * from './principal';
export * from './guards';
export * from './auth.module';
