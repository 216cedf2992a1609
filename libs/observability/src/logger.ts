import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';
import { currentLogContext } from './log-context';

/**
 * Every path that may carry a secret. pino replaces them with "[redacted]"; `redactUrl` below
 * strips credentials from URLs that appear inside messages.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'apiKey',
  'client_secret',
  '*.client_secret',
  'access_token',
  'refresh_token',
  'code',
  'config',
  '*.config',
  'sso_salt',
  '*.sso_salt',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
];

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    mixin: () => ({ ...currentLogContext() }),
    formatters: { level: (label) => ({ level: label }), log: (object) => redactUrlsDeep(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        // Secrets embedded in URLs (postgres://user:pass@…) never reach the log.
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? redactUrl(arg) : arg)) as Parameters<typeof method>);
      },
    },
  });
}

/** `redactUrl` applied to every string in a logged object (errors included), a few levels deep. */
export function redactUrlsDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (depth > 4 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redactUrlsDeep(item, depth + 1));
  const source = value instanceof Error ? { ...value, type: value.name, message: value.message, stack: value.stack } : value;
  return Object.fromEntries(Object.entries(source).map(([key, item]) => [key, redactUrlsDeep(item, depth + 1)]));
}

export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^/\s@]+)@/gi, '$1$2:[redacted]@');
}

/** Nest's start-up chatter (modules loaded, routes mapped) is debug detail, not news. */
const FRAMEWORK_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication']);

/** Nest's LoggerService on pino, so framework and application logs share one structured stream. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    this.write(typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context) ? 'debug' : 'info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  /** Nest calls `(message, context)` or `(object, message, context)`; the last string is the context. */
  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    const strings = rest.filter((r): r is string => typeof r === 'string');
    const context = strings.length > 0 ? strings[strings.length - 1] : undefined;
    if (typeof message === 'object' && message !== null && !(message instanceof Error)) {
      const text = strings.length > 1 ? strings[0] : undefined;
      this.logger[level]({ context, ...(message as object) }, text);
    } else if (message instanceof Error) {
      this.logger[level]({ context, err: message }, message.message);
    } else {
      const stack = rest.find((r) => typeof r === 'string' && r.includes('\n    at '));
      this.logger[level]({ context, ...(stack ? { stack } : {}) }, String(message));
    }
  }
}
