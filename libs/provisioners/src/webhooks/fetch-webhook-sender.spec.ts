import { IncomingHttpHeaders, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookOptions, WebhookRequest } from '@app/domain';
import { FetchWebhookSender } from './fetch-webhook-sender';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A receiver on this machine; `answer` decides what each request gets. */
class Receiver {
  readonly seen: Seen[] = [];
  answer: (res: ServerResponse, seen: Seen) => void = (res) => res.writeHead(200).end();
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      this.seen.push(seen);
      this.answer(res, seen);
    });
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const options = (production: boolean): WebhookOptions => ({ maxAttempts: 3, backoffMs: 1000, backoffCapMs: 60_000, timeoutMs: 5000, production });

const request = (url: string, body = '{"id":"e1","data":{"name":"caf\u00e9 \u2603"}}', timeoutMs = 5000): WebhookRequest => ({
  url,
  body,
  timeoutMs,
  headers: { 'Content-Type': 'application/json', 'Heroku-Webhook-Hmac-SHA256': 'c2lnbmF0dXJl', Authorization: 'Bearer receiver-token' },
});

describe('FetchWebhookSender', () => {
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = new Receiver();
    await receiver.start();
  });

  afterEach(async () => {
    await receiver.stop();
  });

  it('POSTs exactly the signed bytes with the given headers and reports the status', async () => {
    receiver.answer = (res) => res.writeHead(204).end();
    const sent = request(`http://127.0.0.1:${receiver.port}/hooks?x=1`);
    expect(await new FetchWebhookSender(options(false)).send(sent)).toEqual({ kind: 'answered', status: 204 });
    expect(receiver.seen).toHaveLength(1);
    const [seen] = receiver.seen;
    expect(seen).toMatchObject({ method: 'POST', path: '/hooks?x=1' });
    expect(seen.body.equals(Buffer.from(sent.body, 'utf8'))).toBe(true);
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'heroku-webhook-hmac-sha256': 'c2lnbmF0dXJl',
      authorization: 'Bearer receiver-token',
      'content-length': String(Buffer.byteLength(sent.body, 'utf8')),
    });
  });

  it('in production, refuses to connect to a loopback address, by IP or by a name that resolves to one', async () => {
    const sender = new FetchWebhookSender(options(true));
    for (const url of [`http://127.0.0.1:${receiver.port}/hooks`, `http://localhost:${receiver.port}/hooks`, `http://[::ffff:127.0.0.1]:${receiver.port}/hooks`]) {
      expect([url, await sender.send(request(url))]).toEqual([url, { kind: 'unreachable', errorClass: 'ForbiddenAddress' }]);
    }
    expect(receiver.seen).toEqual([]);
    // Outside production the same receiver is reached (tests and local development use one).
    expect(await new FetchWebhookSender(options(false)).send(request(`http://localhost:${receiver.port}/hooks`))).toEqual({ kind: 'answered', status: 200 });
    expect(receiver.seen).toHaveLength(1);
  });

  it('does not follow redirects: a 3xx is the answer', async () => {
    receiver.answer = (res, seen) => (seen.path === '/moved' ? res.writeHead(307, { Location: `http://127.0.0.1:${receiver.port}/elsewhere` }).end() : res.writeHead(200).end());
    expect(await new FetchWebhookSender(options(false)).send(request(`http://127.0.0.1:${receiver.port}/moved`))).toEqual({ kind: 'answered', status: 307 });
    expect(receiver.seen.map((s) => s.path)).toEqual(['/moved']);
  });

  it('does not read the answer body: a receiver that streams without end still gives its status', async () => {
    let closed!: () => void;
    const clientGone = new Promise<void>((resolve) => (closed = resolve));
    receiver.answer = (res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => closed());
      pump();
    };
    expect(await new FetchWebhookSender(options(false)).send(request(`http://127.0.0.1:${receiver.port}/stream`))).toEqual({ kind: 'answered', status: 200 });
    await clientGone;
  });

  it('gives up at the timeout when the receiver never answers', async () => {
    receiver.answer = () => undefined;
    expect(await new FetchWebhookSender(options(false)).send(request(`http://127.0.0.1:${receiver.port}/silent`, '{}', 300))).toEqual({ kind: 'unreachable', errorClass: 'Timeout' });
  });

  it('names a refused connection and never throws', async () => {
    const port = receiver.port;
    await receiver.stop();
    receiver = new Receiver();
    await receiver.start();
    const sender = new FetchWebhookSender(options(false));
    expect(await sender.send(request(`http://127.0.0.1:${port}/gone`))).toEqual({ kind: 'unreachable', errorClass: 'ConnectionRefused' });
    expect(await sender.send({ ...request(`http://127.0.0.1:${receiver.port}/`), headers: { 'X-Bad': 'a\r\nb' } })).toEqual({ kind: 'unreachable', errorClass: 'ConnectionError' });
  });
});
