import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS, redactUrl, redactUrlsDeep } from './logger';

describe('log redaction', () => {
  it('strips passwords from URLs anywhere in a logged object', () => {
    const error = new Error('connect failed for postgres://tenant:s3cret@db:5432/app');
    const out = JSON.stringify(redactUrlsDeep({ reason: 'redis://:hunter2@cache:6379', nested: { list: ['https://u:pw@vendor.test/x'] }, err: error }));
    expect(out).not.toMatch(/s3cret|hunter2|:pw@/);
    expect(out).toContain('postgres://tenant:[redacted]@db:5432/app');
    expect(redactUrl('no url here')).toBe('no url here');
  });

  it('censors the listed secret fields', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
    const logger = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
    logger.info({ password: 'p1', client_secret: 'c1', access_token: 't1', config: { URL: 'v1' }, req: { headers: { authorization: 'Bearer k1' } } }, 'x');
    expect(lines.join('')).not.toMatch(/p1|c1|t1|v1|k1/);
  });
});
