export * from './vendor-server';
export * from './heroku-cli';
export * from './local-postgres-clusters';
