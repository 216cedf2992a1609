export * from './domain-error';
export * from './clock';
export * from './ids';
export * from './secret-hash';
export * from './range';
export * from './secret-box';
