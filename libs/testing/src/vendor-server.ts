import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * How the fake vendor answers one call. A string `body` is sent verbatim (so a test can send
 * malformed JSON); anything else is sent as JSON. `hang` never answers until stop();
 * `destroySocket` resets the connection without a response.
 */
export type VendorReply = { status: number; body?: unknown; delayMs?: number } | { hang: true } | { destroySocket: true };

export interface RecordedVendorCall {
  method: 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** From the body for POST, from the path for PUT and DELETE; '' when absent. */
  uuid: string;
  // `any`: whatever Attache sent (parsed JSON, the raw text if it was not JSON, or undefined),
  // typed loosely so tests can assert on nested fields without casts.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  authorized: boolean;
  /** Date.now() when the request arrived. */
  at: number;
}

/** `attempt` counts authorized calls with the same method and uuid, starting at 1. */
export type VendorHandler = (call: RecordedVendorCall, attempt: number) => VendorReply | Promise<VendorReply>;

export interface VendorManifestPlan {
  name: string;
  human_name: string;
  description?: string;
  price: { cents: number; unit: string };
  default?: boolean;
  state?: string;
  meters?: { dimension: string; unit: string; cents_per_unit: number; included?: number }[];
}

export interface VendorManifestApi {
  config_vars_prefix?: string;
  config_vars: string[];
  password: string;
  sso_salt: string;
  regions: string[];
  requires: string[];
  production: { base_url: string; sso_url: string };
  test?: { base_url: string; sso_url: string };
  version: string;
}

export interface VendorManifest {
  id: string;
  name: string;
  api: VendorManifestApi;
  plans: VendorManifestPlan[];
}

/** Top-level fields replace; `api` fields are merged into the generated `api` one by one. */
export type VendorManifestOverrides = Partial<Omit<VendorManifest, 'api'>> & { api?: Partial<VendorManifestApi> };

const RESOURCES_PATH = '/heroku/resources';

/**
 * A vendor for end-to-end tests of failure modes: a real HTTP server on an ephemeral port whose
 * answers to provision, plan change and deprovision are scripted per call, and which records
 * every call it receives.
 */
export class ScriptedVendor {
  readonly slug: string;
  readonly password: string;
  readonly calls: RecordedVendorCall[] = [];
  private server: Server | undefined;
  private address: string | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly attempts = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private handlers = this.defaultHandlers();

  constructor(opts: { slug: string; password: string }) {
    this.slug = opts.slug;
    this.password = opts.password;
  }

  /** The slug upper-cased with `-` as `_`, the manifest's config var prefix. */
  get configVarPrefix(): string {
    return this.slug.toUpperCase().replace(/-/g, '_');
  }

  /** The one config var the default provision reply returns, `<PREFIX>_URL`. */
  get configVar(): string {
    return `${this.configVarPrefix}_URL`;
  }

  get url(): string {
    if (!this.address) throw new Error('ScriptedVendor is not started.');
    return this.address;
  }

  get baseUrl(): string {
    return `${this.url}${RESOURCES_PATH}`;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('ScriptedVendor is already started.');
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Destroys every open socket, including hanging and delayed calls, so it never waits on them. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  callsFor(uuid: string): RecordedVendorCall[] {
    return this.calls.filter((call) => call.uuid === uuid);
  }

  onProvision(handler: VendorHandler): void {
    this.handlers.POST = handler;
  }

  onPlanChange(handler: VendorHandler): void {
    this.handlers.PUT = handler;
  }

  onDeprovision(handler: VendorHandler): void {
    this.handlers.DELETE = handler;
  }

  /** Puts back the default replies for all three calls (recorded calls and attempts are kept). */
  restoreDefaults(): void {
    this.handlers = this.defaultHandlers();
  }

  /** Resolves once `predicate(calls)` holds; calls are recorded on arrival, before the reply. */
  waitForCalls(predicate: (calls: RecordedVendorCall[]) => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        try {
          if (predicate(this.calls)) settle();
        } catch (error) {
          settle(error instanceof Error ? error : new Error(String(error)));
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.calls.map((c) => `${c.method} ${c.path}${c.authorized ? '' : ' (unauthorized)'}`);
        reject(new Error(`ScriptedVendor: calls did not match within ${timeoutMs} ms; got [${seen.join(', ')}]`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const method = req.method ?? '';
      const path = new URL(req.url ?? '/', this.url).pathname;
      const match = /^\/heroku\/resources(?:\/([^/]+))?\/?$/.exec(path);
      // POST goes to the collection, PUT and DELETE to one resource; anything else is not a vendor call.
      if (!match || !isVendorMethod(method) || (method === 'POST') !== (match[1] === undefined)) {
        send(res, { status: 404, body: { message: `No route for ${method} ${path}.` } });
        return;
      }
      const body = parseBody(await readBody(req));
      const call: RecordedVendorCall = {
        method,
        path,
        uuid: method === 'POST' ? uuidFromBody(body) : decodeURIComponent(match[1] ?? ''),
        body,
        authorized: this.authorized(req),
        at: Date.now(),
      };
      this.record(call);
      if (!call.authorized) {
        send(res, { status: 401, body: { message: 'Invalid credentials.' } });
        return;
      }
      const key = `${call.method} ${call.uuid}`;
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      this.reply(req, res, await this.handlers[call.method](call, attempt));
    } catch (error) {
      // A throwing handler is a bug in the test; answer 500 so it shows up instead of a hang.
      if (!res.headersSent) send(res, { status: 500, body: { message: `ScriptedVendor: ${String(error)}` } });
    }
  }

  private defaultHandlers(): Record<RecordedVendorCall['method'], VendorHandler> {
    return {
      POST: (call) => ({
        status: 200,
        body: { id: `res-${call.uuid}`, config: { [this.configVar]: `https://example.test/${call.uuid}` }, message: 'ok' },
      }),
      PUT: () => ({ status: 200, body: {} }),
      DELETE: () => ({ status: 204 }),
    };
  }

  private record(call: RecordedVendorCall): void {
    this.calls.push(call);
    for (const waiter of [...this.waiters]) waiter();
  }

  private reply(req: IncomingMessage, res: ServerResponse, reply: VendorReply): void {
    // The client may have given up (or stop() ran) while an async handler was deciding.
    if ('hang' in reply || res.destroyed) return;
    if ('destroySocket' in reply) {
      req.socket.resetAndDestroy();
      return;
    }
    if (!reply.delayMs) {
      send(res, reply);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!res.destroyed) send(res, reply);
    }, reply.delayMs);
    this.timers.add(timer);
  }

  private authorized(req: IncomingMessage): boolean {
    const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const userOk = safeEqual(separator < 0 ? '' : decoded.slice(0, separator), this.slug);
    const passwordOk = safeEqual(separator < 0 ? '' : decoded.slice(separator + 1), this.password);
    return userOk && passwordOk;
  }
}

/**
 * A manifest (DESIGN §4.4) that registers `vendor` with Attache: plans `basic` (default, 500
 * cents) and `pro` (2500 cents). Call it after start(), since it needs the vendor's URL.
 * Set a field to `undefined` in overrides to leave it out of the JSON.
 */
export function manifestFor(vendor: ScriptedVendor, overrides: VendorManifestOverrides = {}): VendorManifest {
  const prefix = vendor.configVarPrefix;
  const { api, ...topLevel } = overrides;
  return {
    id: vendor.slug,
    name: `${vendor.slug} (scripted)`,
    plans: [
      { name: 'basic', human_name: 'Basic', description: 'Scripted basic plan.', price: { cents: 500, unit: 'month' }, default: true, state: 'public' },
      { name: 'pro', human_name: 'Pro', description: 'Scripted pro plan.', price: { cents: 2500, unit: 'month' }, default: false, state: 'public' },
    ],
    ...topLevel,
    api: {
      config_vars_prefix: prefix,
      config_vars: [`${prefix}_URL`],
      password: vendor.password,
      sso_salt: randomBytes(16).toString('hex'),
      regions: ['us', 'eu'],
      requires: ['attachable'],
      production: { base_url: vendor.baseUrl, sso_url: `${vendor.url}/sso/login` },
      version: '3',
      ...api,
    },
  };
}

function send(res: ServerResponse, reply: { status: number; body?: unknown }): void {
  if (reply.status === 204 || reply.status === 304 || reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isVendorMethod(method: string): method is RecordedVendorCall['method'] {
  return method === 'POST' || method === 'PUT' || method === 'DELETE';
}

function uuidFromBody(body: unknown): string {
  const uuid = typeof body === 'object' && body !== null ? (body as { uuid?: unknown }).uuid : undefined;
  return typeof uuid === 'string' ? uuid : '';
}

// Hashing first gives equal-length inputs, so timingSafeEqual also hides the length.
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
