import { randomBytes } from 'node:crypto';
import { Clock, SecretBox } from '@app/common';
import { AddonWebhook, WebhookAttempt, WebhookDelivery, WebhookEvent } from './webhook.models';
import { WebhookDeliveryUseCase } from './webhook-delivery.use-case';
import { WebhookDispatcher } from './webhook-dispatcher.port';
import { WebhookOptions } from './webhook.options';
import { WebhookRepository } from './webhook.repository';
import { WebhookRequest, WebhookResponse, WebhookSender } from './webhook-sender.port';
import { signWebhookBody } from './webhook.rules';

class TestClock extends Clock {
  at = new Date('2026-11-26T10:00:00Z');
  now(): Date {
    return new Date(this.at);
  }
}

/** The repository methods a delivery uses, in memory; the rest are never called here. */
class MemoryWebhooks {
  webhooks = new Map<string, AddonWebhook>();
  events = new Map<string, WebhookEvent>();
  deliveries = new Map<string, WebhookDelivery>();
  attempts = new Map<string, WebhookAttempt>();

  async transaction<T>(work: (tx: WebhookRepository) => Promise<T>): Promise<T> {
    return work(this as unknown as WebhookRepository);
  }
  async findById(id: string) {
    return this.webhooks.get(id) ?? null;
  }
  async findEventById(id: string) {
    return this.events.get(id) ?? null;
  }
  async findDeliveryForUpdate(id: string) {
    const d = this.deliveries.get(id);
    return d ? { ...d } : null;
  }
  async updateDelivery(id: string, patch: Partial<WebhookDelivery>) {
    this.deliveries.set(id, { ...this.deliveries.get(id)!, ...patch });
  }
  async insertAttempt(attempt: WebhookAttempt) {
    this.attempts.set(attempt.id, attempt);
  }
  async updateAttempt(id: string, patch: Partial<WebhookAttempt>) {
    this.attempts.set(id, { ...this.attempts.get(id)!, ...patch });
  }
  async failUnfinishedAttempts(deliveryId: string, errorClass: string, at: Date) {
    for (const [id, a] of this.attempts) if (a.deliveryId === deliveryId && a.status === 'scheduled') this.attempts.set(id, { ...a, status: 'failed', errorClass, updatedAt: at });
  }
  attemptsOf(deliveryId: string) {
    return [...this.attempts.values()].filter((a) => a.deliveryId === deliveryId);
  }
}

class ScriptedSender extends WebhookSender {
  readonly requests: WebhookRequest[] = [];
  constructor(private readonly answers: WebhookResponse[]) {
    super();
  }
  async send(request: WebhookRequest): Promise<WebhookResponse> {
    this.requests.push(request);
    return this.answers.shift() ?? { kind: 'answered', status: 200 };
  }
}

class RecordingDispatcher extends WebhookDispatcher {
  readonly queued: { deliveryId: string; attempt: number; delayMs: number }[] = [];
  async deliver(deliveryId: string, attempt: number, delayMs: number): Promise<void> {
    this.queued.push({ deliveryId, attempt, delayMs });
  }
}

const options: WebhookOptions = { maxAttempts: 3, backoffMs: 1000, backoffCapMs: 60_000, timeoutMs: 5000, production: false };

function setup(level: 'notify' | 'sync', answers: WebhookResponse[]) {
  const box = new SecretBox(randomBytes(32));
  const clock = new TestClock();
  const repo = new MemoryWebhooks();
  const now = clock.now();
  repo.webhooks.set('w1', {
    id: 'w1',
    addonId: 'a1',
    include: ['api:app'],
    level,
    url: 'https://vendor.example.com/hooks',
    authorizationSealed: box.seal('Bearer receiver-token'),
    secretSealed: box.seal('the-secret'),
    createdAt: now,
    updatedAt: now,
  });
  repo.events.set('e1', { id: 'e1', addonId: 'a1', lifecycleEventId: '1', include: 'api:app', action: 'update', resource: 'app', data: { id: 'app1', name: 'b' }, previousData: { name: 'a' }, createdAt: now, updatedAt: now });
  repo.deliveries.set('d1', { id: 'd1', addonId: 'a1', eventId: 'e1', webhookId: 'w1', status: 'pending', numAttempts: 0, nextAttemptAt: now, lastAttemptId: null, createdAt: now, updatedAt: now });
  const sender = new ScriptedSender(answers);
  const dispatcher = new RecordingDispatcher();
  const useCase = new WebhookDeliveryUseCase(repo as unknown as WebhookRepository, sender, dispatcher, box, clock, options);
  return { repo, sender, dispatcher, useCase, clock };
}

describe('WebhookDeliveryUseCase', () => {
  it('signs the exact body it sends, with the authorization and id headers, and settles on a 2xx', async () => {
    const { repo, sender, dispatcher, useCase } = setup('sync', [{ kind: 'answered', status: 204 }]);
    expect(await useCase.execute('d1', 1)).toBe('succeeded');
    const [request] = sender.requests;
    expect(request.headers['Heroku-Webhook-Hmac-SHA256']).toBe(signWebhookBody('the-secret', request.body));
    expect(request.headers.Authorization).toBe('Bearer receiver-token');
    expect(request.headers['Heroku-Webhook-Id']).toBe('w1');
    expect(request.headers['Heroku-Webhook-Delivery-Id']).toBe('d1');
    expect(JSON.parse(request.body).webhook_metadata.attempt.id).toBe(request.headers['Heroku-Webhook-Attempt-Id']);
    expect(repo.deliveries.get('d1')).toMatchObject({ status: 'succeeded', numAttempts: 1, nextAttemptAt: null });
    expect(repo.attemptsOf('d1')).toMatchObject([{ status: 'succeeded', code: 204, errorClass: null }]);
    expect(dispatcher.queued).toEqual([]);
  });

  it('schedules the next attempt of a sync delivery with backoff, and fails it at the limit', async () => {
    const down: WebhookResponse = { kind: 'unreachable', errorClass: 'ConnectionRefused' };
    const { repo, dispatcher, useCase, clock } = setup('sync', [{ kind: 'answered', status: 500 }, down, down]);
    expect(await useCase.execute('d1', 1)).toBe('scheduled');
    expect(repo.deliveries.get('d1')!.status).toBe('scheduled');
    const [first] = dispatcher.queued;
    expect(first).toMatchObject({ deliveryId: 'd1', attempt: 2 });
    expect(first.delayMs).toBeGreaterThanOrEqual(500);
    expect(first.delayMs).toBeLessThanOrEqual(1000);
    expect(repo.deliveries.get('d1')!.nextAttemptAt!.getTime()).toBe(clock.now().getTime() + first.delayMs);

    expect(await useCase.execute('d1', 2)).toBe('scheduled');
    expect(repo.deliveries.get('d1')!.status).toBe('scheduled');
    expect(dispatcher.queued[1]).toMatchObject({ attempt: 3 });
    expect(dispatcher.queued[1].delayMs).toBeGreaterThanOrEqual(1000);
    expect(await useCase.execute('d1', 3)).toBe('failed');
    expect(repo.deliveries.get('d1')).toMatchObject({ status: 'failed', numAttempts: 3, nextAttemptAt: null });
    expect(repo.attemptsOf('d1').map((a) => [a.status, a.code, a.errorClass])).toEqual([
      ['failed', 500, null],
      ['failed', null, 'ConnectionRefused'],
      ['failed', null, 'ConnectionRefused'],
    ]);
    expect(dispatcher.queued).toHaveLength(2);
  });

  it('gives a notify delivery one attempt', async () => {
    const { repo, sender, dispatcher, useCase } = setup('notify', [{ kind: 'answered', status: 500 }]);
    expect(await useCase.execute('d1', 1)).toBe('failed');
    expect(repo.deliveries.get('d1')).toMatchObject({ status: 'failed', numAttempts: 1 });
    expect(dispatcher.queued).toEqual([]);
    // A stray job for a second attempt does nothing.
    expect(await useCase.execute('d1', 2)).toBe('skipped');
    expect(sender.requests).toHaveLength(1);
  });

  it('skips a repeated or stale job, and a settled delivery', async () => {
    const { repo, sender, useCase } = setup('sync', [{ kind: 'answered', status: 200 }]);
    expect(await useCase.execute('d1', 2)).toBe('skipped');
    expect(await useCase.execute('d1', 1)).toBe('succeeded');
    expect(await useCase.execute('d1', 1)).toBe('skipped');
    expect(await useCase.execute('d1', 2)).toBe('skipped');
    expect(await useCase.execute('missing', 1)).toBe('skipped');
    expect(sender.requests).toHaveLength(1);
    expect(repo.attemptsOf('d1')).toHaveLength(1);
  });

  it('marks an attempt a crash cut short as interrupted when the next one starts, and fails the delivery if none is left', async () => {
    const { repo, useCase } = setup('sync', [{ kind: 'answered', status: 200 }]);
    // Attempt 1 was recorded, then the worker died before it settled.
    const at = new Date('2026-11-26T09:59:00Z');
    repo.attempts.set('t0', { id: 't0', deliveryId: 'd1', status: 'scheduled', code: null, errorClass: null, createdAt: at, updatedAt: at });
    repo.deliveries.set('d1', { ...repo.deliveries.get('d1')!, status: 'pending', numAttempts: 1, lastAttemptId: 't0' });
    expect(await useCase.execute('d1', 2)).toBe('succeeded');
    expect(repo.attempts.get('t0')).toMatchObject({ status: 'failed', errorClass: 'Interrupted' });
    expect(repo.deliveries.get('d1')).toMatchObject({ status: 'succeeded', numAttempts: 2 });

    const last = setup('sync', []);
    last.repo.attempts.set('t9', { id: 't9', deliveryId: 'd1', status: 'scheduled', code: null, errorClass: null, createdAt: at, updatedAt: at });
    last.repo.deliveries.set('d1', { ...last.repo.deliveries.get('d1')!, status: 'retrying', numAttempts: 3, lastAttemptId: 't9' });
    expect(await last.useCase.execute('d1', 4)).toBe('skipped');
    expect(last.repo.deliveries.get('d1')!.status).toBe('failed');
    expect(last.repo.attempts.get('t9')).toMatchObject({ status: 'failed', errorClass: 'Interrupted' });
    expect(last.sender.requests).toEqual([]);
  });

  it('leaves alone a delivery deleted with its webhook while its attempt runs', async () => {
    const { repo, sender, dispatcher, useCase } = setup('sync', [{ kind: 'answered', status: 500 }]);
    const send = sender.send.bind(sender);
    sender.send = async (request) => {
      // The vendor deletes the webhook: its deliveries and their attempts go with it.
      repo.webhooks.delete('w1');
      repo.deliveries.delete('d1');
      for (const a of repo.attemptsOf('d1')) repo.attempts.delete(a.id);
      return send(request);
    };
    expect(await useCase.execute('d1', 1)).toBe('skipped');
    expect(dispatcher.queued).toEqual([]);
    expect(repo.deliveries.has('d1')).toBe(false);
    expect(await useCase.execute('d1', 2)).toBe('skipped');
    expect(sender.requests).toHaveLength(1);
  });

  it('lets an attempt that outlived its lease and was taken over settle nothing', async () => {
    const { repo, sender, dispatcher, useCase } = setup('sync', [{ kind: 'answered', status: 200 }, { kind: 'answered', status: 500 }]);
    const send = sender.send.bind(sender);
    let takeover: Promise<unknown> | undefined;
    sender.send = async (request) => {
      // While attempt 1 hangs past its lease, the sweep queues attempt 2, which runs to the end first.
      if (!takeover) {
        takeover = useCase.execute('d1', 2);
        expect(await takeover).toBe('succeeded');
      }
      return send(request);
    };
    expect(await useCase.execute('d1', 1)).toBe('skipped');
    expect(repo.deliveries.get('d1')).toMatchObject({ status: 'succeeded', numAttempts: 2 });
    // Attempt 1 is logged with what it got; nothing is scheduled after it.
    expect(repo.attemptsOf('d1').map((a) => a.status).sort()).toEqual(['failed', 'succeeded']);
    expect(dispatcher.queued).toEqual([]);
  });
});
