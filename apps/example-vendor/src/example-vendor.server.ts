import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EXAMPLE_VENDOR_CONFIG_VAR, EXAMPLE_VENDOR_NAME, EXAMPLE_VENDOR_PLANS } from './example-vendor.manifest';

export interface ExampleVendorOptions {
  /** 0 picks an ephemeral port. */
  port: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  slug: string;
  password: string;
  ssoSalt: string;
  /** OAuth client secret for the partner API; without it async plans are refused. */
  clientSecret?: string;
  /**
   * Where the partner API is when a provision request carries no usable `callback_url`
   * (`{partner API}/addons/{uuid}`); without either, async plans are refused.
   */
  attacheUrl?: string;
  /** Wait before completing an async provision; defaults to 200 ms. */
  asyncDelayMs?: number;
  /** Receives one line per background failure (async provisioning); never given a secret. */
  log?: (line: string) => void;
}

/** What the vendor holds for one add-on: a notebook. */
export interface NotebookResource {
  readonly uuid: string;
  readonly id: string;
  readonly plan: string;
  readonly name: string;
  readonly options: Readonly<Record<string, unknown>>;
  readonly config: Readonly<Record<string, string>>;
  readonly deprovisioned: boolean;
}

interface Notebook {
  uuid: string;
  id: string;
  plan: string;
  name: string;
  options: Record<string, unknown>;
  token: string;
  deprovisioned: boolean;
  /** Set only for notebooks provisioned through the async (202) path. */
  async?: 'pending' | 'done' | 'failed';
}

interface Session {
  uuid: string;
  email: string;
  app: string;
  expiresAt: number;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const PLAN_NAMES = new Map(EXAMPLE_VENDOR_PLANS.map((p) => [p.name, p.human_name]));
const SESSION_COOKIE = 'sudo_notes_session';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const SSO_MAX_AGE_S = 5 * 60;
const SSO_MAX_SKEW_S = 60;
const MAX_BODY_BYTES = 1024 * 1024;
const ATTACHE_TIMEOUT_MS = 10_000;
const HEROKU_ACCEPT = 'application/vnd.heroku+json; version=3';

/** The example vendor: a pretend note-taking service speaking the Heroku add-on protocol v3. */
export class ExampleVendorServer {
  private server: Server | undefined;
  private url: string | undefined;
  private abort = new AbortController();
  private readonly notebooks = new Map<string, Notebook>();
  private readonly sessions = new Map<string, Session>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly tasks = new Set<Promise<void>>();

  constructor(private readonly opts: ExampleVendorOptions) {
    if (!opts.slug || !opts.password || !opts.ssoSalt) {
      throw new Error('ExampleVendorServer needs a slug, a password and an SSO salt.');
    }
  }

  async start(): Promise<{ url: string }> {
    if (this.server) throw new Error('ExampleVendorServer is already started.');
    const host = this.opts.host ?? '127.0.0.1';
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.abort = new AbortController();
    const { port } = server.address() as AddressInfo;
    this.url = `http://${urlHost(host)}:${port}`;
    return { url: this.url };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await Promise.allSettled([...this.tasks]);
  }

  get baseUrl(): string {
    return `${this.origin()}/heroku/resources`;
  }

  get ssoUrl(): string {
    return `${this.origin()}/sso/login`;
  }

  resources(): ReadonlyMap<string, NotebookResource> {
    return new Map([...this.notebooks].map(([uuid, nb]) => [uuid, this.view(nb)]));
  }

  private origin(): string {
    if (!this.url) throw new Error('ExampleVendorServer is not started.');
    return this.url;
  }

  private view(nb: Notebook): NotebookResource {
    return {
      uuid: nb.uuid,
      id: nb.id,
      plan: nb.plan,
      name: nb.name,
      options: { ...nb.options },
      config: this.configOf(nb),
      deprovisioned: nb.deprovisioned,
    };
  }

  private configOf(nb: Notebook): Record<string, string> {
    return { [EXAMPLE_VENDOR_CONFIG_VAR]: `${this.origin()}/notebooks/${nb.id}?token=${nb.token}` };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
      } else if (error instanceof HttpError) {
        sendJson(res, error.status, { message: error.message });
      } else {
        sendJson(res, 500, { message: 'Sudo Notes had an internal error.' });
      }
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vendor.invalid');
    const method = req.method ?? 'GET';
    const resource = /^\/heroku\/resources(?:\/([^/]+))?\/?$/.exec(url.pathname);
    if (resource) {
      if (!this.authorized(req)) {
        sendJson(res, 401, { message: 'Invalid credentials.' }, { 'WWW-Authenticate': 'Basic realm="Sudo Notes"' });
        return;
      }
      const uuid = resource[1] === undefined ? undefined : decodeSegment(resource[1]);
      if (uuid === undefined && method === 'POST') return this.provision(req, res);
      if (uuid !== undefined && method === 'PUT') return this.changePlan(uuid, req, res);
      if (uuid !== undefined && method === 'DELETE') return this.deprovision(uuid, res);
      throw new HttpError(405, `${method} is not supported here.`);
    }
    if (url.pathname === '/sso/login' && method === 'POST') return this.ssoLogin(req, res);
    const dashboard = /^\/dashboard\/([^/]+)$/.exec(url.pathname);
    if (dashboard && method === 'GET') return this.dashboard(decodeSegment(dashboard[1]), req, res);
    const notebook = /^\/notebooks\/([^/]+)$/.exec(url.pathname);
    if (notebook && method === 'GET') return this.readNotebook(decodeSegment(notebook[1]), url.searchParams, res);
    throw new HttpError(404, 'Not found.');
  }

  private authorized(req: IncomingMessage): boolean {
    const match = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const user = separator < 0 ? '' : decoded.slice(0, separator);
    const password = separator < 0 ? '' : decoded.slice(separator + 1);
    // Both comparisons always run, so timing does not tell which half was wrong.
    const userOk = safeEqual(user, this.opts.slug);
    const passwordOk = safeEqual(password, this.opts.password);
    return userOk && passwordOk;
  }

  private async provision(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req);
    const uuid = body.uuid;
    if (typeof uuid !== 'string' || uuid === '') throw new HttpError(422, 'uuid is required.');
    // No await between this lookup and the insert below, so concurrent duplicates make one notebook.
    const existing = this.notebooks.get(uuid);
    if (existing) return this.repeatProvision(existing, body, res);

    const plan = typeof body.plan === 'string' ? body.plan : '';
    if (!PLAN_NAMES.has(plan)) throw new HttpError(422, `Plan ${plan} is not offered by Sudo Notes.`);
    const options = isRecord(body.options) ? { ...body.options } : {};
    const isAsync = plan === 'async' || options.async === 'true' || options.async === true;
    const grantCode = grantCodeOf(body);
    const partnerApi = this.partnerApiOf(uuid, body);
    if (isAsync && (!partnerApi || !this.opts.clientSecret)) {
      throw new HttpError(422, 'Sudo Notes cannot provision asynchronously right now.');
    }
    if (isAsync && !grantCode) throw new HttpError(422, 'Asynchronous provisioning needs an OAuth grant.');

    const nb: Notebook = {
      uuid,
      id: `nb-${randomBytes(6).toString('hex')}`,
      plan,
      name: typeof body.name === 'string' && body.name !== '' ? body.name : uuid,
      options,
      token: newToken(),
      deprovisioned: false,
    };
    this.notebooks.set(uuid, nb);
    if (isAsync && grantCode && partnerApi) {
      this.scheduleAsync(nb, grantCode, partnerApi);
      sendJson(res, 202, { id: nb.id, message: 'Your notebook is being prepared.' });
      return;
    }
    sendJson(res, 200, { id: nb.id, config: this.configOf(nb), message: 'Your notebook is ready.' });
  }

  // Delivery is at least once: a repeated POST gets the first answer again, never a second notebook.
  private repeatProvision(nb: Notebook, body: Record<string, unknown>, res: ServerResponse): void {
    if (nb.deprovisioned) throw new HttpError(422, `The notebook for ${nb.uuid} was deleted.`);
    if (nb.async === undefined) {
      sendJson(res, 200, { id: nb.id, config: this.configOf(nb), message: 'Your notebook is ready.' });
      return;
    }
    const grantCode = grantCodeOf(body);
    const partnerApi = this.partnerApiOf(nb.uuid, body);
    if (nb.async === 'failed' && grantCode && partnerApi) this.scheduleAsync(nb, grantCode, partnerApi);
    sendJson(res, 202, { id: nb.id, message: 'Your notebook is being prepared.' });
  }

  /**
   * The partner API's base URL: `callback_url` minus its `/addons/{uuid}` path, as Attache (and
   * `attache vendor:check`, which plays the platform) sends it, else the configured attacheUrl.
   * Following callback_url is safe because only a caller holding the manifest password gets here.
   */
  private partnerApiOf(uuid: string, body: Record<string, unknown>): string | undefined {
    const callback = typeof body.callback_url === 'string' ? body.callback_url : '';
    const suffix = `/addons/${encodeURIComponent(uuid)}`;
    try {
      const url = new URL(callback);
      const path = url.pathname.replace(/\/+$/, '');
      if ((url.protocol === 'http:' || url.protocol === 'https:') && path.endsWith(suffix) && url.username === '' && url.password === '') {
        return `${url.origin}${path.slice(0, -suffix.length)}`;
      }
    } catch {
      // Not a URL: fall back to the configured partner API.
    }
    return this.opts.attacheUrl || undefined;
  }

  private scheduleAsync(nb: Notebook, grantCode: string, partnerApi: string): void {
    nb.async = 'pending';
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const task = this.completeAsync(nb, grantCode, partnerApi).then(
        () => void (nb.async = 'done'),
        (error: unknown) => {
          nb.async = 'failed';
          this.opts.log?.(`async provisioning of ${nb.uuid} failed: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
      this.tasks.add(task);
      void task.finally(() => this.tasks.delete(task));
    }, this.opts.asyncDelayMs ?? 200);
    this.timers.add(timer);
  }

  // The partner API flow (protocol §3.3): exchange the grant, push the config, mark provisioned.
  private async completeAsync(nb: Notebook, grantCode: string, partnerApi: string): Promise<void> {
    const base = partnerApi.replace(/\/+$/, '');
    const token = await this.callAttache('POST', `${base}/oauth/token`, {
      grant_type: 'authorization_code',
      code: grantCode,
      client_secret: this.opts.clientSecret,
    });
    const accessToken = isRecord(token) ? token.access_token : undefined;
    if (typeof accessToken !== 'string' || accessToken === '') throw new Error('the token response has no access_token');
    if (nb.deprovisioned) return;
    const addon = `${base}/addons/${encodeURIComponent(nb.uuid)}`;
    const config = Object.entries(this.configOf(nb)).map(([name, value]) => ({ name, value }));
    await this.callAttache('PATCH', `${addon}/config`, { config }, accessToken);
    await this.callAttache('POST', `${addon}/actions/provision`, undefined, accessToken);
  }

  private async callAttache(method: string, url: string, body: unknown, bearer?: string): Promise<unknown> {
    const headers: Record<string, string> = { Accept: bearer ? HEROKU_ACCEPT : 'application/json' };
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(ATTACHE_TIMEOUT_MS)]),
    });
    const text = await response.text();
    const parsed = parseJson(text);
    if (!response.ok) {
      const detail = isRecord(parsed) && typeof parsed.message === 'string' ? `: ${parsed.message}` : '';
      throw new Error(`${method} ${new URL(url).pathname} answered ${response.status}${detail}`);
    }
    return parsed;
  }

  private async changePlan(uuid: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req);
    const nb = this.notebooks.get(uuid);
    if (!nb || nb.deprovisioned) throw new HttpError(404, `No notebook for ${uuid}.`);
    const plan = typeof body.plan === 'string' ? body.plan : '';
    const humanName = PLAN_NAMES.get(plan);
    if (humanName === undefined) throw new HttpError(422, `Plan ${plan} is not offered by Sudo Notes.`);
    if (plan === nb.plan) {
      sendJson(res, 200, {});
      return;
    }
    nb.plan = plan;
    if (plan === 'pro') {
      // Shows that a plan change can deliver new config: Pro notebooks get a fresh token.
      nb.token = newToken();
      sendJson(res, 200, { config: this.configOf(nb), message: 'Your notebook is now on Pro, with a new URL.' });
      return;
    }
    sendJson(res, 200, { message: `Your notebook is now on the ${humanName} plan.` });
  }

  private deprovision(uuid: string, res: ServerResponse): void {
    const nb = this.notebooks.get(uuid);
    if (!nb) throw new HttpError(404, `No notebook for ${uuid}.`);
    // A repeated DELETE (at-least-once delivery) answers 204 again.
    nb.deprovisioned = true;
    for (const [id, session] of this.sessions) if (session.uuid === uuid) this.sessions.delete(id);
    res.writeHead(204).end();
  }

  private async ssoLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const resourceId = form.get('resource_id') ?? '';
    const timestamp = form.get('timestamp') ?? '';
    const expected = createHash('sha1').update(`${resourceId}:${this.opts.ssoSalt}:${timestamp}`).digest('hex');
    if (!safeEqual(form.get('resource_token') ?? '', expected)) {
      sendPage(res, 403, 'Forbidden', '<p>The sign-in token is not valid.</p>');
      return;
    }
    const age = Math.floor(Date.now() / 1000) - Number(timestamp);
    if (!/^\d+$/.test(timestamp) || age > SSO_MAX_AGE_S || age < -SSO_MAX_SKEW_S) {
      sendPage(res, 403, 'Forbidden', '<p>The sign-in link has expired. Open the add-on from Attache again.</p>');
      return;
    }
    const nb = this.notebooks.get(resourceId);
    if (!nb || nb.deprovisioned) {
      sendPage(res, 404, 'Not found', '<p>There is no such notebook.</p>');
      return;
    }
    const now = Date.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
    const sessionId = randomBytes(24).toString('base64url');
    this.sessions.set(sessionId, {
      uuid: resourceId,
      email: form.get('email') ?? '',
      app: form.get('app') ?? '',
      expiresAt: now + SESSION_TTL_MS,
    });
    res
      .writeHead(302, {
        Location: `/dashboard/${encodeURIComponent(resourceId)}`,
        'Set-Cookie': `${SESSION_COOKIE}=${sessionId}; Path=/; HttpOnly; SameSite=Lax`,
      })
      .end();
  }

  private dashboard(uuid: string, req: IncomingMessage, res: ServerResponse): void {
    const nb = this.notebooks.get(uuid);
    if (!nb || nb.deprovisioned) {
      sendPage(res, 404, 'Not found', '<p>There is no such notebook.</p>');
      return;
    }
    const session = this.sessions.get(cookie(req, SESSION_COOKIE) ?? '');
    if (!session || session.uuid !== uuid || session.expiresAt <= Date.now()) {
      sendPage(res, 403, 'Forbidden', '<p>Open this notebook from Attache to sign in.</p>');
      return;
    }
    const title = `${EXAMPLE_VENDOR_NAME} — ${nb.name}`;
    sendPage(
      res,
      200,
      title,
      `<dl><dt>Plan</dt><dd>${escapeHtml(PLAN_NAMES.get(nb.plan) ?? nb.plan)}</dd>` +
        `<dt>App</dt><dd>${escapeHtml(session.app)}</dd>` +
        `<dt>Signed in as</dt><dd>${escapeHtml(session.email)}</dd></dl>`,
    );
  }

  // What SUDO_NOTES_URL points at, so the config var an app receives actually works.
  private readNotebook(id: string, query: URLSearchParams, res: ServerResponse): void {
    const nb = [...this.notebooks.values()].find((candidate) => candidate.id === id && !candidate.deprovisioned);
    if (!nb) throw new HttpError(404, 'There is no such notebook.');
    if (!safeEqual(query.get('token') ?? '', nb.token)) throw new HttpError(401, 'The notebook token is not valid.');
    sendJson(res, 200, { id: nb.id, name: nb.name, plan: nb.plan, notes: [] });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** `bodyHtml` is inserted as is: callers escape what they interpolate. */
function sendPage(res: ServerResponse, status: number, title: string, bodyHtml: string): void {
  const html =
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body><h1>${escapeHtml(title)}</h1>${bodyHtml}</body></html>\n`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
  });
  res.end(html);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  const value = parseJson(text);
  if (!isRecord(value)) throw new HttpError(400, 'The request body must be a JSON object.');
  return value;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function grantCodeOf(body: Record<string, unknown>): string | undefined {
  const grant = body.oauth_grant;
  return isRecord(grant) && typeof grant.code === 'string' && grant.code !== '' ? grant.code : undefined;
}

// Hashing first gives equal-length inputs, so timingSafeEqual also hides the length.
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function newToken(): string {
  return randomBytes(16).toString('hex');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'The path is not valid.');
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
