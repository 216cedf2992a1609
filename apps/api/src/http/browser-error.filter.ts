import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { Request, Response } from 'express';
import { SignInRequiredException } from '@app/auth';
import { DomainError, newId } from '@app/common';
import { messageView } from '../views/message.view';
import { DOMAIN_ERROR_STATUS } from './error.filter';
import { newNonce, sendHtml } from './html-response';


const TITLES: Record<number, string> = { 401: 'Sign in required', 403: 'Forbidden', 404: 'Not found', 422: 'Not available', 429: 'Too many requests', 503: 'Unavailable' };

/**
 * Errors of Attache's browser pages as HTML pages (the API's ErrorFilter answers JSON). A page
 * that needs a session sends the browser to /login and back; messages are DomainError texts,
 * which are written to be shown, and nothing else from the exception.
 */
@Catch()
export class BrowserErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('BrowserErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    if (exception instanceof SignInRequiredException && (request.method === 'GET' || request.method === 'HEAD')) {
      response.redirect(303, `/login?next=${encodeURIComponent(request.originalUrl)}`);
      return;
    }
    const { status, message } = this.describe(exception);
    const nonce = newNonce();
    sendHtml(response, status, messageView(TITLES[status] ?? 'Error', message, { nonce }, null), nonce);
  }

  private describe(exception: unknown): { status: number; message: string } {
    if (exception instanceof DomainError) return { status: DOMAIN_ERROR_STATUS[exception.kind], message: exception.message };
    if (exception instanceof HttpException) {
      const raw = exception.getResponse();
      const message = typeof raw === 'object' && typeof (raw as { message?: unknown }).message === 'string' ? (raw as { message: string }).message : exception.message;
      return { status: exception.getStatus(), message };
    }
    const errorId = newId();
    // Database errors carry their statement's parameters (emails, hashes): log the error alone.
    const { name, message, stack, code } = (exception ?? {}) as { name?: string; message?: string; stack?: string; code?: string };
    this.logger.error({ errorId, err: { name, message, stack, code } }, 'unhandled error on a page');
    return { status: 500, message: `Something went wrong. Quote error id ${errorId} when reporting it.` };
  }
}
