import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { Response } from 'express';
import { DomainError, DomainErrorKind, newId } from '@app/common';
import { ManifestInvalidError } from '@app/domain';

/** The HTTP status of each kind of domain error, for JSON answers and HTML pages alike. */
export const DOMAIN_ERROR_STATUS: Record<DomainErrorKind, number> = {
  invalid: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  confirmation_required: 423,
  rate_limited: 429,
  unavailable: 503,
};

const HTTP_IDS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'request_entity_too_large',
  415: 'unsupported_media_type',
  416: 'requested_range_not_satisfiable',
  422: 'invalid_params',
  429: 'rate_limit',
};

/** The one place errors become HTTP: `{id, message}` bodies; unknown errors are 500 with a logged error id. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body } = this.toResponse(exception);
    if (response.headersSent) return;
    response.status(status).type('application/json').send(JSON.stringify(body));
  }

  private toResponse(exception: unknown): { status: number; body: Record<string, unknown> } {
    // Nest wraps body-parser's errors in an HttpException whose message quotes the raw body;
    // answer with our own words so nothing from the body (a secret, say) is echoed back.
    const parserError = bodyParserError(exception instanceof HttpException ? exception.cause : exception);
    if (parserError) return parserError;
    if (exception instanceof DomainError) {
      const status = exception.code === 'requested_range_not_satisfiable' ? 416 : DOMAIN_ERROR_STATUS[exception.kind];
      const body: Record<string, unknown> = { id: exception.code, message: exception.message };
      if (exception.details.resource) body.resource = exception.details.resource;
      if (exception instanceof ManifestInvalidError) body.errors = exception.errors;
      return { status, body };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const rawMessage = typeof raw === 'string' ? raw : (raw as { message?: string | string[] }).message;
      const message = Array.isArray(rawMessage) ? rawMessage.join('; ') : (rawMessage ?? exception.message);
      const explicitId = typeof raw === 'object' ? (raw as { id?: string }).id : undefined;
      // A failed health check's body is the checks' results (terminus); keep them next to id and message.
      if (isHealthCheckResult(raw)) return { status, body: { id: 'service_unavailable', message: 'One or more health checks failed.', ...raw } };
      return { status, body: { id: explicitId ?? HTTP_IDS[status] ?? `http_${status}`, message } };
    }
    // Two requests racing for one unique name: the loser gets the same answer as a later request would.
    if ((exception as { code?: string })?.code === UNIQUE_VIOLATION) {
      return { status: 409, body: { id: 'conflict', message: 'That name is already taken; choose another.' } };
    }
    const errorId = newId();
    this.logger.error({ errorId, err: withoutQueryParameters(exception) }, 'unhandled error');
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { id: 'internal_server_error', message: `Internal server error. Quote error id ${errorId} when reporting it.` },
    };
  }
}

function isHealthCheckResult(raw: unknown): raw is { status: string; details: object } {
  return typeof raw === 'object' && raw !== null && typeof (raw as { status?: unknown }).status === 'string' && typeof (raw as { details?: unknown }).details === 'object';
}

const UNIQUE_VIOLATION = '23505';

/** Database errors carry the statement's parameters (config values, emails): keep them out of logs. */
function withoutQueryParameters(exception: unknown): unknown {
  if (typeof exception !== 'object' || exception === null || !('parameters' in exception)) return exception;
  const { name, message, stack, code } = exception as { name?: string; message?: string; stack?: string; code?: string };
  return { name, message, stack, code };
}

/** body-parser's errors (malformed JSON, oversize bodies) arrive as plain errors with a status. */
function bodyParserError(exception: unknown): { status: number; body: Record<string, unknown> } | null {
  const error = exception as { type?: string; status?: number; limit?: number };
  if (error?.type === 'entity.parse.failed') return { status: 400, body: { id: 'bad_request', message: 'The request body is not valid JSON.' } };
  if (error?.type === 'entity.too.large') {
    return { status: 413, body: { id: 'request_entity_too_large', message: `The request body is larger than the limit of ${error.limit} bytes.` } };
  }
  if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
    return { status: error.status, body: { id: HTTP_IDS[error.status] ?? 'bad_request', message: (exception as Error).message } };
  }
  return null;
}
