export * from './manifest';
export * from './manifest.validator';
