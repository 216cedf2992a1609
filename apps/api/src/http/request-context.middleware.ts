import { Injectable, NestMiddleware, NotAcceptableException } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { newId } from '@app/common';
import { runWithLogContext } from '@app/observability';

/**
 * Every response carries a fresh `Request-Id` (appended to any the client sent, as Heroku does),
 * and log lines for the request carry it too. Accept versions other than 3 and 3.* are refused.
 */
@Injectable()
export class RequestContextMiddleware implements NestMiddleware {
  use(request: Request, response: Response, next: NextFunction): void {
    const requestId = newId();
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
