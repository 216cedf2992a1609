import 'reflect-metadata';
import { ConfigError, loadConfig } from '@app/config';
import { createApiApp } from './create-api-app';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApiApp(config);
  await app.listen(config.http.port, config.http.host);
  const url = config.http.publicUrl;
  process.stdout.write(
    `Attache API listening on ${url} (bound to ${config.http.host}:${config.http.port}).\n` +
      `Point the Heroku CLI at it: HEROKU_HOST=${url.replace('localhost', '127.0.0.1')} HEROKU_API_KEY=<key from "npx attache accounts:create EMAIL"> heroku apps\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
});
