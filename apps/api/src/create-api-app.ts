import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { json, urlencoded } from 'express';
import { AppConfig, ConfigModule } from '@app/config';
import { PinoNestLogger, collectProcessMetrics, createLogger } from '@app/observability';
import { ApiModule } from './api.module';
import { ErrorFilter } from './http/error.filter';
import { assignRequestId, logRequests } from './http/request-context.middleware';
import { validationPipe } from './http/validation';

/** Builds the API exactly as `main.ts` runs it; tests boot it the same way. */
/** Room for a batch of 1000 usage records with 128-character ids. */
const USAGE_BODY_LIMIT = '1mb';

export async function createApiApp(config: AppConfig): Promise<INestApplication> {
  const logger = new PinoNestLogger(createLogger(config.log.level, 'attache-api'));
  const app = await NestFactory.create<NestExpressApplication>(
    { module: ApiModule, imports: [ConfigModule.withConfig(config)] },
    { logger, bodyParser: false, bufferLogs: false },
  );
  collectProcessMetrics();
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  app.set('etag', 'strong');
  app.use(assignRequestId, logRequests);
  // The CLI sends JSON bodies on DELETE too; parse every method. Any content type parses as JSON
  // except forms, which the OAuth token endpoint accepts.
  // Vendors report usage in batches of up to 1000 records, which outgrow the general limit.
  app.use('/addons/:addon/usage', json({ limit: USAGE_BODY_LIMIT }));
  app.use(json({ limit: config.http.bodyLimit, type: (req) => !String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') && Number(req.headers['content-length'] ?? 1) > 0 }));
  app.use(urlencoded({ extended: false, limit: config.http.bodyLimit }));
  app.useGlobalPipes(validationPipe);
  app.useGlobalFilters(new ErrorFilter());
  app.enableShutdownHooks();
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Attache Platform API')
      .setDescription('Heroku Platform API v3 compatible add-on marketplace: apps, config vars, add-ons, attachments, vendors and partners.')
      .setVersion('3')
      .addBearerAuth()
      .addBasicAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
