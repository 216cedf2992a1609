import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { FAILURES_PER_EMAIL, FAILURES_PER_IP, RedisSignInThrottle } from './redis-sign-in.throttle';

const REDIS_URL = process.env.ATTACHE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The sign-in throttle on a real Redis: attempts are counted as they start, atomically with the check. */
describe('RedisSignInThrottle', () => {
  const prefix = `attache-test-throttle-${randomUUID()}`;
  let redis: Redis;
  let throttle: RedisSignInThrottle;

  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    throttle = new RedisSignInThrottle({ redis: { url: REDIS_URL }, queues: { prefix } } as unknown as AppConfig);
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    throttle.onModuleDestroy();
    redis.disconnect();
  });

  it('lets exactly the limit of attempts for one email through when they all arrive at once, and counts no refused one', async () => {
    const waits = await Promise.all(Array.from({ length: 20 }, () => throttle.begin({ email: 'burst@example.test', ip: '10.1.0.1' })));
    expect(waits.filter((w) => w === 0)).toHaveLength(FAILURES_PER_EMAIL);
    for (const wait of waits.filter((w) => w > 0)) expect(wait).toBeLessThanOrEqual(15 * 60);
    // The address counted the five that went on, not the fifteen refused: another email from it may try.
    expect(await throttle.begin({ email: 'other@example.test', ip: '10.1.0.1' })).toBe(0);
    expect(await throttle.begin({ email: 'burst@example.test', ip: '10.1.0.2' })).toBeGreaterThan(0);
  });

  it('gives a right attempt back to the address and forgets the email’s failures', async () => {
    const attempt = { email: 'right@example.test', ip: '10.1.0.3' };
    for (let i = 0; i < FAILURES_PER_EMAIL - 1; i++) expect(await throttle.begin(attempt)).toBe(0);
    expect(await throttle.begin(attempt)).toBe(0);
    await throttle.succeeded(attempt);
    for (let i = 0; i < FAILURES_PER_EMAIL; i++) expect(await throttle.begin(attempt)).toBe(0);
    expect(await throttle.begin(attempt)).toBeGreaterThan(0);
  });

  it('limits an address across emails and API keys', async () => {
    const ip = '10.1.0.4';
    const waits = await Promise.all(Array.from({ length: FAILURES_PER_IP + 10 }, (_, i) => throttle.begin(i % 2 ? { ip } : { email: `guess-${i}@example.test`, ip })));
    expect(waits.filter((w) => w === 0)).toHaveLength(FAILURES_PER_IP);
    await throttle.succeeded({ ip });
    expect(await throttle.begin({ ip })).toBe(0);
    expect(await throttle.begin({ ip })).toBeGreaterThan(0);
  });
});
