export * from './vendor-server';
export * from './heroku-cli';
