import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { isUuid } from '@app/common';
import { timeOrderedId } from './time-ordered-id';
import { WebhookEvent } from './webhook.models';
import { attemptLimit, deliveryBody, isSuccessStatus, retryDelayMs, retryWindowMs, signWebhookBody, webhookUrlProblem } from './webhook.rules';

describe('webhook signatures', () => {
  it('are base64 HMAC-SHA256 of the exact body under the secret', () => {
    // RFC 4231 test case 2 ("Jefe"), in base64.
    expect(signWebhookBody('Jefe', 'what do ya want for nothing?')).toBe('W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=');
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), (secret, body) => {
        expect(signWebhookBody(secret, body)).toBe(createHmac('sha256', secret).update(body).digest('base64'));
      }),
    );
  });

  it('change with any byte of the body or the secret', () => {
    const body = '{"id":"1","action":"update"}';
    expect(signWebhookBody('s3cret', body)).not.toBe(signWebhookBody('s3cret', `${body} `));
    expect(signWebhookBody('s3cret', body)).not.toBe(signWebhookBody('s3creT', body));
  });

  it('cover the body as sent, with the delivery ids inside it', () => {
    const event: WebhookEvent = {
      id: 'e1',
      addonId: 'a1',
      lifecycleEventId: '7',
      include: 'api:app',
      action: 'update',
      resource: 'app',
      data: { id: 'app1', name: 'new-name' },
      previousData: { name: 'old-name' },
      createdAt: new Date('2026-01-02T03:04:05Z'),
      updatedAt: new Date('2026-01-02T03:04:05Z'),
    };
    const body = JSON.parse(deliveryBody(event, { id: 'w1' }, { attemptId: 't1', deliveryId: 'd1' }));
    expect(body).toEqual({
      id: 'e1',
      created_at: '2026-01-02T03:04:05.000Z',
      action: 'update',
      resource: 'app',
      data: { id: 'app1', name: 'new-name' },
      previous_data: { name: 'old-name' },
      version: 'application/vnd.heroku+json; version=3',
      webhook_metadata: { attempt: { id: 't1' }, delivery: { id: 'd1' }, event: { id: 'e1', include: 'api:app' }, webhook: { id: 'w1' } },
    });
    expect(JSON.parse(deliveryBody({ ...event, previousData: null }, { id: 'w1' }, { attemptId: 't1', deliveryId: 'd1' }))).not.toHaveProperty('previous_data');
  });
});

describe('webhook retries', () => {
  it('wait between half and all of min(cap, base * 2^(n-1)) after attempt n', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 86_400_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, base, cap, r) => {
        const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
        const delay = retryDelayMs(attempt, base, cap, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(Math.ceil(ceiling));
      }),
    );
  });

  it('double until the cap', () => {
    const top = (n: number) => retryDelayMs(n, 10_000, 3_600_000, () => 1 - 1e-12);
    expect([1, 2, 3].map(top)).toEqual([10_000, 20_000, 40_000]);
    expect(top(12)).toBe(3_600_000);
    expect(top(40)).toBe(3_600_000);
  });

  it('give notify one attempt and sync the configured limit, over a bounded window', () => {
    expect(attemptLimit('notify', 10)).toBe(1);
    expect(attemptLimit('sync', 10)).toBe(10);
    // Defaults: 10 attempts, 10 s doubling, capped at an hour: about an hour and 25 minutes in all.
    expect(retryWindowMs(10, 10_000, 3_600_000)).toBe(10_000 * (2 ** 9 - 1));
    expect(retryWindowMs(1, 10_000, 3_600_000)).toBe(0);
    expect(retryWindowMs(30, 10_000, 3_600_000)).toBeLessThanOrEqual(29 * 3_600_000);
  });

  it('count only 2xx answers as delivered', () => {
    expect([200, 201, 204, 299].every(isSuccessStatus)).toBe(true);
    expect([100, 301, 302, 400, 404, 410, 500, 503].some(isSuccessStatus)).toBe(false);
  });
});

describe('webhook URLs', () => {
  it('must be https, or http on this machine outside production, without credentials', () => {
    expect(webhookUrlProblem('https://vendor.example.com/hooks', true)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9000/hooks', false)).toBeNull();
    expect(webhookUrlProblem('http://localhost/hooks', false)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9000/hooks', true)).toMatch(/https/);
    expect(webhookUrlProblem('http://vendor.example.com/hooks', false)).toMatch(/https/);
    expect(webhookUrlProblem('ftp://vendor.example.com/hooks', false)).toMatch(/https/);
    expect(webhookUrlProblem('not a url', false)).toMatch(/absolute URL/);
    expect(webhookUrlProblem('https://user:pw@vendor.example.com/', false)).toMatch(/user name or password/);
  });
});

describe('time-ordered ids', () => {
  it('are UUIDs whose order is the order of their times', () => {
    const times = [0, 1, 1_700_000_000_000, 1_700_000_000_001, 4_000_000_000_000];
    const ids = times.map((t) => timeOrderedId(new Date(t)));
    for (const id of ids) expect(isUuid(id)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(timeOrderedId(new Date(5))).not.toBe(timeOrderedId(new Date(5)));
  });
});
