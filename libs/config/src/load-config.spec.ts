import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './load-config';

describe('loadConfig', () => {
  const key = randomBytes(32).toString('hex');

  it('defaults to the local services', () => {
    const config = loadConfig({ ATTACHE_ENCRYPTION_KEY: key });
    expect(config.database.url).toBe('postgres://postgres@127.0.0.1:5432/attache');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.http).toMatchObject({ port: 5000, publicUrl: 'http://127.0.0.1:5000' });
    expect(config.provider.timeoutMs).toBe(10_000);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ ATTACHE_ENCRYPTION_KEY: key, PORT: 'eighty', DATABASE_URL: 'mysql://x/y', PROVIDER_TIMEOUT_MS: '60000', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems } = error as ConfigError;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/PORT must be an integer/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL must use postgres/);
    expect(problems.join('\n')).toMatch(/PROVIDER_TIMEOUT_MS must be an integer from 100 to 30000/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL/);
  });

  it('turns TLS for new dedicated PostgreSQL clusters on only when asked, and refuses anything but on or off', () => {
    expect(loadConfig({ ATTACHE_ENCRYPTION_KEY: key }).pgDedicated.tls).toBe(false);
    expect(loadConfig({ ATTACHE_ENCRYPTION_KEY: key, ATTACHE_PG_DEDICATED_TLS: 'on' }).pgDedicated.tls).toBe(true);
    expect(loadConfig({ ATTACHE_ENCRYPTION_KEY: key, ATTACHE_PG_DEDICATED_TLS: 'off' }).pgDedicated.tls).toBe(false);
    expect(() => loadConfig({ ATTACHE_ENCRYPTION_KEY: key, ATTACHE_PG_DEDICATED_TLS: 'yes' })).toThrow(/ATTACHE_PG_DEDICATED_TLS must be on or off \(got "yes"\)/);
  });

  it('requires the encryption key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/ATTACHE_ENCRYPTION_KEY is required in production/);
    expect(() => loadConfig({ NODE_ENV: 'production', ATTACHE_ENCRYPTION_KEY: 'short' })).toThrow(/32 bytes/);
  });

  it('generates and keeps a local key outside production', () => {
    const dir = mkdtempSync(join(tmpdir(), 'attache-config-'));
    const first = loadConfig({ ATTACHE_LOCAL_DIR: dir });
    const second = loadConfig({ ATTACHE_LOCAL_DIR: dir });
    expect(first.encryption.currentKey).toEqual(second.encryption.currentKey);
    expect(readFileSync(join(dir, 'encryption.key'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});
