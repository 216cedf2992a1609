import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { CheckEnvironment, CheckedManifest } from './checked-manifest';
import { configItemsProblems } from './config-rules';

/** What the stand-in saw of one add-on's async completion. */
export interface PartnerProgress {
  tokenExchanged: boolean;
  configUpdated: boolean;
  provisioned: boolean;
  /** Partner API requests it refused, and why. */
  problems: string[];
}

interface StandInAddon {
  uuid: string;
  name: string;
  plan: string;
  /** Grant codes issued in provision requests, with their expiry; each works once. */
  grants: Map<string, number>;
  accessTokens: Set<string>;
  refreshTokens: Set<string>;
  state: 'provisioning' | 'provisioned' | 'deprovisioned';
  config: Map<string, string>;
  tokenExchanged: boolean;
  configUpdated: boolean;
  problems: string[];
}

const GRANT_TTL_MS = 5 * 60 * 1000;
const TOKEN_TTL_S = 8 * 60 * 60;
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The platform's side of the partner API (reference §3), served on an ephemeral loopback port by
 * `attache vendor:check` so a vendor's 202 path can complete against it: `POST /oauth/token`
 * (grant exchange and refresh), `GET /addons/{id}`, `GET|PATCH /addons/{id}/config`,
 * `GET /addons/{id}/addon-attachments`, `POST /addons/{id}/actions/provision|deprovision`.
 * Tokens reach one add-on each, like Attache's; config updates are held to the manifest's rules.
 */
export class PartnerApiStandIn {
  private server: Server | undefined;
  private url = '';
  private readonly addons = new Map<string, StandInAddon>();
  private readonly unattributed: string[] = [];
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly manifest: CheckedManifest,
    private readonly env: CheckEnvironment,
    /** When given, the OAuth client secret the vendor must present; otherwise any non-empty one. */
    private readonly clientSecret?: string,
  ) {}

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Expects a provision of `uuid`: returns the `callback_url` and a fresh `oauth_grant` for its body. */
  register(uuid: string, name: string, plan: string): { callback_url: string; oauth_grant: { code: string; expires_at: string; type: string } } {
    let addon = this.addons.get(uuid);
    if (!addon) {
      addon = {
        uuid,
        name,
        plan,
        grants: new Map(),
        accessTokens: new Set(),
        refreshTokens: new Set(),
        state: 'provisioning',
        config: new Map(),
        tokenExchanged: false,
        configUpdated: false,
        problems: [],
      };
      this.addons.set(uuid, addon);
    }
    const code = randomUUID();
    const expiresAt = Date.now() + GRANT_TTL_MS;
    addon.grants.set(code, expiresAt);
    return {
      callback_url: `${this.url}/addons/${uuid}`,
      oauth_grant: { code, expires_at: new Date(expiresAt).toISOString(), type: 'authorization_code' },
    };
  }

  progress(uuid: string): PartnerProgress {
    const addon = this.addons.get(uuid);
    return {
      tokenExchanged: addon?.tokenExchanged ?? false,
      configUpdated: addon?.configUpdated ?? false,
      provisioned: addon?.state === 'provisioned',
      problems: [...(addon?.problems ?? []), ...this.unattributed],
    };
  }

  /** Resolves true once the vendor has marked `uuid` provisioned, false at the deadline or when `signal` aborts. */
  async waitForProvisioned(uuid: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !signal?.aborted) {
      if (this.addons.get(uuid)?.state === 'provisioned') return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.addons.get(uuid)?.state === 'provisioned';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch {
      if (!res.headersSent) reply(res, 400, { id: 'bad_request', message: 'The request could not be read.' });
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in.invalid');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    if (url.pathname === '/oauth/token' && method === 'POST') return this.token(req, url, body, res);

    const match = /^\/addons\/([^/]+)(\/config|\/addon-attachments|\/actions\/provision|\/actions\/deprovision)?\/?$/.exec(url.pathname);
    const addon = match ? this.addons.get(safeDecode(match[1])) : undefined;
    if (!match || !addon) {
      reply(res, 404, { id: 'not_found', message: `${method} ${url.pathname} is not part of the partner API, or names an unknown add-on.` });
      return;
    }
    const where = `${method} ${url.pathname}`;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !this.tokenOwner(bearer)) {
      addon.problems.push(`${where} came without a valid access token (expected "Authorization: Bearer <access_token from /oauth/token>")`);
      reply(res, 401, { id: 'unauthorized', message: 'Invalid credentials provided.' });
      return;
    }
    if (this.tokenOwner(bearer) !== addon) {
      addon.problems.push(`${where} used the access token of another add-on`);
      reply(res, 403, { id: 'forbidden', message: 'This token is for another add-on.' });
      return;
    }
    const suffix = match[2] ?? '';
    if (suffix === '' && method === 'GET') return reply(res, 200, this.view(addon));
    if (suffix === '/config' && method === 'GET') return reply(res, 200, items(addon));
    if (suffix === '/config' && method === 'PATCH') return this.updateConfig(addon, where, body, res);
    if (suffix === '/addon-attachments' && method === 'GET') {
      return reply(res, 200, [{ id: randomUUID(), name: this.manifest.prefix, addon: { id: addon.uuid, name: addon.name }, app: { id: APP.id, name: APP.name } }]);
    }
    if (suffix === '/actions/provision' && method === 'POST') {
      if (addon.state === 'provisioning') addon.state = 'provisioned';
      return reply(res, 200, this.view(addon));
    }
    if (suffix === '/actions/deprovision' && method === 'POST') {
      addon.state = 'deprovisioned';
      return reply(res, 200, this.view(addon));
    }
    addon.problems.push(`${where} is not a partner API call`);
    reply(res, 405, { id: 'method_not_allowed', message: `${method} is not supported here.` });
  }

  private token(req: IncomingMessage, url: URL, body: string, res: ServerResponse): void {
    // Grant exchanges come as query parameters (Heroku's sample vendor), a form or JSON.
    const params = { ...Object.fromEntries(url.searchParams), ...parseParams(req, body) };
    const grantType = params.grant_type;
    if (!params.client_secret) {
      this.unattributed.push('POST /oauth/token came without client_secret');
      return reply(res, 400, { id: 'invalid_request', message: 'client_secret is required.' });
    }
    if (this.clientSecret !== undefined && !safeEqual(params.client_secret, this.clientSecret)) {
      this.unattributed.push('POST /oauth/token came with a client_secret other than --client-secret');
      return reply(res, 401, { id: 'invalid_client', message: 'Invalid client_secret.' });
    }
    if (grantType === 'authorization_code') {
      const addon = [...this.addons.values()].find((a) => a.grants.has(params.code ?? ''));
      const expiresAt = addon?.grants.get(params.code ?? '');
      if (!addon || expiresAt === undefined || expiresAt < Date.now()) {
        this.unattributed.push('POST /oauth/token came with an unknown, used or expired grant code (expected the oauth_grant.code of the provision request)');
        return reply(res, 400, { id: 'invalid_grant', message: 'The grant code is invalid, used or expired.' });
      }
      addon.grants.delete(params.code!);
      addon.tokenExchanged = true;
      return reply(res, 200, this.issue(addon));
    }
    if (grantType === 'refresh_token') {
      const addon = [...this.addons.values()].find((a) => a.refreshTokens.has(params.refresh_token ?? ''));
      if (!addon) {
        this.unattributed.push('POST /oauth/token came with an unknown refresh_token');
        return reply(res, 400, { id: 'invalid_grant', message: 'The refresh token is invalid.' });
      }
      return reply(res, 200, this.issue(addon));
    }
    this.unattributed.push(`POST /oauth/token came with grant_type ${JSON.stringify(grantType ?? null)} (expected authorization_code or refresh_token)`);
    reply(res, 400, { id: 'unsupported_grant_type', message: 'grant_type must be authorization_code or refresh_token.' });
  }

  private issue(addon: StandInAddon) {
    const accessToken = `atp_${randomBytes(24).toString('base64url')}`;
    const refreshToken = `atr_${randomBytes(24).toString('base64url')}`;
    addon.accessTokens.add(accessToken);
    addon.refreshTokens.add(refreshToken);
    return { access_token: accessToken, refresh_token: refreshToken, expires_in: TOKEN_TTL_S, token_type: 'Bearer', user_id: APP.ownerId, session_nonce: null };
  }

  private tokenOwner(token: string): StandInAddon | undefined {
    return [...this.addons.values()].find((a) => a.accessTokens.has(token));
  }

  private updateConfig(addon: StandInAddon, where: string, body: string, res: ServerResponse): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body) as unknown;
    } catch {
      addon.problems.push(`${where} body is not JSON (expected {"config": [{"name", "value"}]})`);
      return reply(res, 400, { id: 'bad_request', message: 'The body must be JSON.' });
    }
    const config = typeof parsed === 'object' && parsed !== null ? (parsed as { config?: unknown }).config : undefined;
    const problems = configItemsProblems(config, this.manifest, this.env);
    if (problems.length > 0) {
      addon.problems.push(`${where}: ${problems.join('; ')}`);
      return reply(res, 422, { id: 'invalid_params', message: problems.join('; ') });
    }
    for (const item of config as { name: string; value: string | null }[]) {
      if (item.value === null) addon.config.delete(item.name);
      else addon.config.set(item.name, item.value);
    }
    addon.configUpdated = true;
    reply(res, 200, items(addon));
  }

  private view(addon: StandInAddon) {
    return {
      id: addon.uuid,
      name: addon.name,
      state: addon.state,
      addon_service: { id: APP.serviceId, name: this.manifest.id },
      plan: { id: APP.planId, name: `${this.manifest.id}:${addon.plan}` },
      app: { id: APP.id, name: APP.name },
      config_vars: [...addon.config.keys()],
      provider_id: null,
      web_url: null,
    };
  }
}

/** The pretend app every checked add-on belongs to. */
const APP = { id: randomUUID(), name: 'vendor-check-app', ownerId: randomUUID(), serviceId: randomUUID(), planId: randomUUID() };

function items(addon: StandInAddon) {
  return [...addon.config].map(([name, value]) => ({ name, value }));
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseParams(req: IncomingMessage, body: string): Record<string, string> {
  if (body.trim() === '') return {};
  if ((req.headers['content-type'] ?? '').includes('json')) {
    try {
      const value = JSON.parse(body) as unknown;
      if (typeof value !== 'object' || value === null) return {};
      return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
