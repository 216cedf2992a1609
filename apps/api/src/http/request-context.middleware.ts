import { Injectable, Logger, NestMiddleware, NotAcceptableException } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { newId } from '@app/common';
import { runWithLogContext } from '@app/observability';

/**
 * Gives the request its fresh `Request-Id` before the body parsers run (they come before Nest's
 * middleware), so a body they refuse is still answered with one.
 */
export function assignRequestId(request: Request, response: Response, next: NextFunction): void {
  const requestId = newId();
  (request as Request & { id: string }).id = requestId;
  response.setHeader('Request-Id', requestId);
  next();
}

const accessLogger = new Logger('HTTP');

/**
 * One log line per request once its response is sent, with its `requestId`. Only the path is
 * logged: query strings may carry secrets (the OAuth token endpoint accepts them there), and
 * headers and bodies are never logged.
 */
export function logRequests(request: Request, response: Response, next: NextFunction): void {
  const started = process.hrtime.bigint();
  response.on('finish', () => {
    accessLogger.log(
      {
        requestId: (request as Request & { id?: string }).id,
        method: request.method,
        path: request.originalUrl.split('?')[0],
        status: response.statusCode,
        ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6),
      },
      'request',
    );
  });
  next();
}

/**
 * Every response carries a fresh `Request-Id`, and log lines for the request carry it too.
 * Accept versions other than 3 and 3.* are refused.
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    const requestId = (request as Request & { id?: string }).id ?? newId();
    (request as Request & { id: string }).id = requestId;
    response.setHeader('Request-Id', requestId);
    const version = /version=([^;,\s]+)/.exec(request.headers.accept ?? '')?.[1];
    if (version !== undefined && version !== '3' && !version.startsWith('3.')) {
      next(new NotAcceptableException(`Unsupported API version ${version}; use Accept: application/vnd.heroku+json; version=3.`));
      return;
    }
    runWithLogContext({ requestId }, () => next());
  }
}
