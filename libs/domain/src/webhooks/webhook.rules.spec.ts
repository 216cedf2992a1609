import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { isUuid } from '@app/common';
import { timeOrderedId } from './time-ordered-id';
import { WebhookEvent } from './webhook.models';
import { attemptLimit, deliveryBody, isPublicAddress, isSuccessStatus, retryDelayMs, retryWindowMs, signWebhookBody, webhookUrlProblem } from './webhook.rules';

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

  it('in production, do not name this host, a private network or a link-local address', () => {
    for (const url of [
      'https://localhost/hooks',
      'https://LOCALHOST./hooks',
      'https://hooks.localhost/',
      'https://127.0.0.1/hooks',
      'https://2130706433/hooks',
      'https://0x7f.1/hooks',
      'https://10.1.2.3/',
      'https://172.16.0.1/',
      'https://192.168.1.1/',
      'https://100.64.0.1/',
      'https://169.254.169.254/latest/meta-data/',
      'https://0.0.0.0/',
      'https://[::1]/',
      'https://[::]/',
      'https://[::ffff:127.0.0.1]/',
      'https://[::ffff:a9fe:a9fe]/',
      'https://[fe80::1]/',
      'https://[fd00::1]/',
      'https://[64:ff9b::a00:1]/',
    ]) {
      expect([url, webhookUrlProblem(url, true)]).toEqual([url, expect.stringMatching(/loopback, private, link-local/)]);
    }
    expect(webhookUrlProblem('https://93.184.215.14/hooks', true)).toBeNull();
    expect(webhookUrlProblem('https://[2606:4700::1111]/hooks', true)).toBeNull();
    // Outside production a loopback receiver is fine (tests and local development use one).
    expect(webhookUrlProblem('https://localhost/hooks', false)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.1:9000/hooks', false)).toBeNull();
  });

  it('are public only when no special-purpose block holds them', () => {
    for (const address of ['8.8.8.8', '93.184.215.14', '1.1.1.1', '2606:4700::1111', '2a00:1450:4001:81b::200e']) expect([address, isPublicAddress(address)]).toEqual([address, true]);
    for (const address of [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '169.254.169.254',
      '100.127.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:a9fe:a9fe',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      '2001:db8::1',
      '2002:7f00:1::1',
      '64:ff9b::7f00:1',
      'not-an-address',
      'localhost',
    ]) {
      expect([address, isPublicAddress(address)]).toEqual([address, false]);
    }
    expect(isPublicAddress('172.32.0.1')).toBe(true);
    expect(isPublicAddress('172.15.255.255')).toBe(true);
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
