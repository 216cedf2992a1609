import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One way a vendor can break the add-on protocol; `attache vendor:check` must name each. */
export type VendorFault =
  | 'accepts-wrong-credentials'
  | 'non-json'
  | 'no-id'
  | 'undeclared-config'
  | 'unprefixed-config'
  | 'non-string-config'
  | 'bad-url-config'
  | 'new-id-on-repeat'
  | 'one-id-for-all'
  | 'never-calls-back'
  | 'sso-accepts-bad-token'
  | 'sso-accepts-stale-timestamp'
  | 'sso-wrong-token-formula'
  | 'sso-bad-redirect'
  | 'plan-change-fails'
  | 'no-op-plan-change-fails'
  | 'deprovision-fails'
  | 'repeat-delete-fails'
  | 'plan-change-hangs';

interface Resource {
  id: string;
  plan: string;
  gone: boolean;
}

const PREFIX = 'FAULTY';
const SSO_MAX_AGE_S = 300;

/**
 * A small vendor that speaks the add-on protocol correctly (sync plans, an `async` plan finished
 * through the partner API at `callback_url`, SSO) except for at most one deliberate fault.
 */
export class FaultyVendor {
  private server: Server | undefined;
  private origin = '';
  private readonly resources = new Map<string, Resource>();
  private readonly sockets = new Set<Socket>();
  private readonly tasks = new Set<Promise<unknown>>();
  readonly password = randomBytes(16).toString('hex');
  readonly ssoSalt = randomBytes(16).toString('hex');
  private hung: () => void = () => undefined;
  /** Resolves when a request this vendor never answers has arrived ('plan-change-hangs'). */
  readonly hanging = new Promise<void>((resolve) => (this.hung = resolve));

  constructor(
    readonly slug: string,
    readonly fault?: VendorFault,
  ) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.route(req, res).catch(() => {
        if (!res.headersSent) json(res, 500, { message: 'internal error' });
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await Promise.allSettled([...this.tasks]);
  }

  manifest() {
    return {
      id: this.slug,
      name: 'Faulty',
      api: {
        config_vars_prefix: PREFIX,
        config_vars: [`${PREFIX}_URL`],
        password: this.password,
        sso_salt: this.ssoSalt,
        regions: ['us'],
        requires: ['many_per_app'],
        production: { base_url: `${this.origin}/heroku/resources`, sso_url: `${this.origin}/sso/login` },
        version: '3',
      },
      plans: [
        { name: 'test', human_name: 'Test', price: { cents: 0, unit: 'month' }, default: true },
        { name: 'basic', human_name: 'Basic', price: { cents: 500, unit: 'month' } },
        { name: 'async', human_name: 'Async', price: { cents: 0, unit: 'month' } },
      ],
    };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = await read(req);
    const resource = /^\/heroku\/resources(?:\/([^/]+))?$/.exec(path);
    if (resource) {
      if (!this.authorized(req) && this.fault !== 'accepts-wrong-credentials') return json(res, 401, { message: 'Invalid credentials.' });
      const uuid = resource[1];
      if (!uuid && req.method === 'POST') return this.provision(JSON.parse(body) as Record<string, unknown>, res);
      const known = uuid ? this.resources.get(uuid) : undefined;
      if (!known) return json(res, 404, { message: 'Unknown resource.' });
      if (req.method === 'PUT') {
        if (this.fault === 'plan-change-hangs') return this.hung();
        const plan = (JSON.parse(body) as { plan: string }).plan;
        if (this.fault === 'plan-change-fails' && plan !== known.plan) return json(res, 422, { message: 'Plan changes are not supported.' });
        if (this.fault === 'no-op-plan-change-fails' && plan === known.plan) return json(res, 422, { message: `Already on ${plan}.` });
        known.plan = plan;
        return json(res, 200, {});
      }
      if (req.method === 'DELETE') {
        if (this.fault === 'deprovision-fails') return json(res, 500, { message: 'Cannot delete right now.' });
        if (this.fault === 'repeat-delete-fails' && known.gone) return json(res, 500, { message: 'Already deleted.' });
        known.gone = true;
        res.writeHead(204).end();
        return;
      }
    }
    if (path === '/sso/login' && req.method === 'POST') return this.sso(new URLSearchParams(body), res);
    json(res, 404, { message: 'Not found.' });
  }

  private provision(body: Record<string, unknown>, res: ServerResponse): void {
    const uuid = String(body.uuid);
    const plan = String(body.plan);
    let resource = this.resources.get(uuid);
    if (!resource || this.fault === 'new-id-on-repeat') {
      resource = { id: this.fault === 'one-id-for-all' ? 'r-the-only-one' : `r-${randomBytes(6).toString('hex')}`, plan, gone: false };
      this.resources.set(uuid, resource);
    }
    if (this.fault === 'non-json') {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Provisioned!</body></html>');
      return;
    }
    if (plan === 'async') {
      if (this.fault !== 'never-calls-back') this.completeLater(uuid, body);
      return json(res, 202, { id: resource.id, message: 'Being prepared.' });
    }
    const config: Record<string, unknown> = this.config(resource);
    if (this.fault === 'undeclared-config') config[`${PREFIX}_EXTRA`] = 'extra';
    if (this.fault === 'unprefixed-config') config.OTHER_URL = 'https://other.example.test/';
    if (this.fault === 'non-string-config') config[`${PREFIX}_URL`] = 42;
    if (this.fault === 'bad-url-config') config[`${PREFIX}_URL`] = 'faulty.example.test/r';
    json(res, 200, this.fault === 'no-id' ? { config } : { id: resource.id, config, message: 'Ready.' });
  }

  private config(resource: Resource): Record<string, string> {
    return { [`${PREFIX}_URL`]: `https://faulty.example.test/r/${resource.id}` };
  }

  // The partner API flow at the platform that sent callback_url: exchange, config, provisioned.
  private completeLater(uuid: string, body: Record<string, unknown>): void {
    const partner = String(body.callback_url).replace(new RegExp(`/addons/${uuid}$`), '');
    const code = (body.oauth_grant as { code: string }).code;
    const call = async (method: string, path: string, payload?: unknown, token?: string) => {
      const response = await fetch(`${partner}${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
      return response.json() as Promise<Record<string, unknown>>;
    };
    const task = (async () => {
      const token = await call('POST', '/oauth/token', { grant_type: 'authorization_code', code, client_secret: 'faulty-client-secret' });
      const accessToken = String(token.access_token);
      const config = Object.entries(this.config(this.resources.get(uuid)!)).map(([name, value]) => ({ name, value }));
      await call('PATCH', `/addons/${uuid}/config`, { config }, accessToken);
      await call('POST', `/addons/${uuid}/actions/provision`, undefined, accessToken);
    })().catch(() => undefined);
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  private sso(form: URLSearchParams, res: ServerResponse): void {
    const timestamp = form.get('timestamp') ?? '';
    const signed = this.fault === 'sso-wrong-token-formula' ? `${this.ssoSalt}:${form.get('resource_id')}:${timestamp}` : `${form.get('resource_id')}:${this.ssoSalt}:${timestamp}`;
    const expected = createHash('sha1').update(signed).digest('hex');
    const tokenOk = same(form.get('resource_token') ?? '', expected);
    const fresh = Math.floor(Date.now() / 1000) - Number(timestamp) <= SSO_MAX_AGE_S;
    if (!tokenOk && this.fault !== 'sso-accepts-bad-token') return html(res, 403, 'Bad token.');
    if (!fresh && this.fault !== 'sso-accepts-stale-timestamp') return html(res, 403, 'Expired.');
    if (this.fault === 'sso-bad-redirect') {
      res.writeHead(302, { Location: 'http://[dashboard/' }).end();
      return;
    }
    html(res, 200, 'Welcome to your dashboard.');
  }

  /** The uuids of resources provisioned here and never deprovisioned. */
  leftovers(): string[] {
    return [...this.resources].filter(([, resource]) => !resource.gone).map(([uuid]) => uuid);
  }

  private authorized(req: IncomingMessage): boolean {
    const expected = `Basic ${Buffer.from(`${this.slug}:${this.password}`).toString('base64')}`;
    return same(req.headers.authorization ?? '', expected);
  }
}

function same(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function html(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html' }).end(`<html><body>${text}</body></html>`);
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
