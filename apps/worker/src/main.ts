import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, ConfigModule, loadConfig } from '@app/config';
import { PinoNestLogger, collectProcessMetrics, createLogger } from '@app/observability';
import { WorkerModule } from './worker.module';

/** Runs the job processors, and serves /health and /metrics on WORKER_PORT. */
async function main(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.create({ module: WorkerModule, imports: [ConfigModule.withConfig(config)] }, {
    logger: new PinoNestLogger(createLogger(config.log.level, 'attache-worker')),
  });
  collectProcessMetrics();
  app.enableShutdownHooks();
  await app.listen(config.worker.port, config.http.host);
  process.stdout.write(`Attache worker running (health and metrics on http://${config.http.host}:${config.worker.port}).\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
});
