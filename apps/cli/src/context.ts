import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, ConfigModule, loadConfig } from '@app/config';
import { CliModule } from './cli.module';

/** Runs `work` with the domain wired to the database, then closes every connection. */
export async function withContext<T>(work: (context: INestApplicationContext, config: AppConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  // Boot failures (database unreachable…) are thrown to main.ts, which prints one line, instead of
  // Nest logging a stack trace and exiting on its own.
  const context = await NestFactory.createApplicationContext(
    { module: CliModule, imports: [ConfigModule.withConfig(config)] },
    { logger: false, abortOnError: false },
  );
  try {
    return await work(context, config);
  } finally {
    await context.close();
  }
}
