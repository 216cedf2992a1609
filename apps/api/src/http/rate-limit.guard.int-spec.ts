import { randomBytes } from 'node:crypto';
import { ExecutionContext, HttpException } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '@app/config';
import { RateLimitGuard } from './rate-limit.guard';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The guard on the real Redis: every request counted, and a budget refused once spent, whether or not requests waited for their count. */
describe('RateLimitGuard', () => {
  const prefix = `attache-test-ratelimit-${randomBytes(4).toString('hex')}`;
  const guards: RateLimitGuard[] = [];
  const redis = new Redis(REDIS_URL);

  const guard = (perHour: number) => {
    const made = new RateLimitGuard({ redis: { url: REDIS_URL }, queues: { prefix }, rateLimit: { perHour } } as AppConfig);
    guards.push(made);
    return made;
  };

  /** One request of `accountId` through `on`: its RateLimit-Remaining, or the HTTP status it was refused with. */
  async function request(on: RateLimitGuard, accountId: string): Promise<number | { status: number }> {
    const headers = new Map<string, string>();
    const http = { getRequest: () => ({ user: { kind: 'account', account: { id: accountId } } }), getResponse: () => ({ setHeader: (k: string, v: string) => headers.set(k, v) }) };
    try {
      await on.canActivate({ switchToHttp: () => http } as unknown as ExecutionContext);
      return Number(headers.get('RateLimit-Remaining'));
    } catch (error) {
      if (error instanceof HttpException) return { status: error.getStatus() };
      throw error;
    }
  }

  /** Points spent from the account's budget, as Redis holds them. */
  const spent = async (accountId: string) => Number(await redis.get(`${prefix}:ratelimit:account:${accountId}`));
  const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

  afterAll(async () => {
    for (const made of guards) made.onModuleDestroy();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('counts every request, also those let through before their count came back, and reports the budget counted down', async () => {
    const on = guard(1000);
    const remaining: (number | { status: number })[] = [];
    for (let i = 0; i < 250; i++) remaining.push(await request(on, 'plenty'));
    await settle();
    expect(remaining).toEqual(Array.from({ length: 250 }, (_, i) => 999 - i));
    expect(await spent('plenty')).toBe(250);
  });

  it('refuses the request past the budget, its last points counted one by one', async () => {
    const on = guard(150);
    const remaining: (number | { status: number })[] = [];
    for (let i = 0; i < 151; i++) remaining.push(await request(on, 'spender'));
    expect(remaining.slice(0, 150)).toEqual(Array.from({ length: 150 }, (_, i) => 149 - i));
    expect(remaining[150]).toEqual({ status: 429 });
    expect(await request(on, 'spender')).toEqual({ status: 429 });
    await settle();
    expect(await spent('spender')).toBe(152);
  });

  it('catches up with what other processes spent from the same budget as soon as a count comes back', async () => {
    const [here, elsewhere] = [guard(150), guard(150)];
    expect(await request(here, 'shared')).toBe(149);
    for (let i = 0; i < 40; i++) await request(elsewhere, 'shared');
    await settle();
    // Let through on the budget this process knew; its count (108 left) comes back meanwhile.
    expect(await request(here, 'shared')).toBe(148);
    await settle();
    expect(await request(here, 'shared')).toBe(107);
    await settle();
    expect(await spent('shared')).toBe(43);
  });
});
