import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestFor } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

const BIN = join(__dirname, '..', '..', 'bin', 'attache.js');
const COMMANDS = ['accounts:create', 'keys:create', 'services:publish', 'vendor:push', 'db:migrate', 'catalog:seed-vendor'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Non-empty lines of `text`. */
const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

/** README "The admin CLI": `node bin/attache.js …` as an operator runs it, from the compiled output, on the harness's database. */
describe('the attache admin CLI', () => {
  let attache: AttacheHarness;
  let dir: string;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    dir = mkdtempSync(join(tmpdir(), 'attache-cli-'));
  });

  afterAll(async () => {
    await attache?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI with only node's needs plus Attache's configuration, so nothing leaks in from the runner. */
  function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
    const env = { PATH: process.env.PATH ?? '', HOME: dir, ...attache.env, NODE_ENV: 'test', ...extraEnv };
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env, cwd: dir, timeout: 30_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Exit status non-zero, exactly one line on stderr starting with `attache:`, and no stack trace anywhere. */
  function expectOneLineError(run: Run, contains: string): void {
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: expect.stringContaining(contains) });
    expect(lines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^attache: /);
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at .+:\d+:\d+/);
  }

  const email = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@example.test`;
  const lastLine = (text: string) => lines(text).at(-1) ?? '';

  describe('accounts and keys', () => {
    it('accounts:create prints the API key alone on its last line, and the key works against the API', async () => {
      const address = email('Ops');
      const run = await cli(['accounts:create', address, '--name', 'Ops Person']);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      const key = lastLine(run.stdout);
      expect(key).toMatch(/^atk_\S+$/);

      const me = await attache.client(key).get('/account');
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ email: address.toLowerCase(), name: 'Ops Person' });
      const rows = await attache.pg.query('SELECT count(*)::int AS n FROM accounts WHERE email = $1', [address.toLowerCase()]);
      expect(rows.rows[0].n).toBe(1);

      // The same email again is refused in one line, and no second account appears.
      const again = await cli(['accounts:create', address]);
      expectOneLineError(again, 'already exists');
      expect((await attache.pg.query('SELECT count(*)::int AS n FROM accounts WHERE email = $1', [address.toLowerCase()])).rows[0].n).toBe(1);

      const invalid = await cli(['accounts:create', 'not-an-email']);
      expectOneLineError(invalid, 'not a valid email');
    });

    it('keys:create adds another working key; the first key keeps working', async () => {
      const account = await attache.createAccount();
      const run = await cli(['keys:create', account.email, '--label', 'deploy-bot']);
      expect(run.code).toBe(0);
      const key = lastLine(run.stdout);
      expect(key).toMatch(/^atk_\S+$/);
      expect(key).not.toBe(account.apiKey);

      for (const apiKey of [key, account.apiKey]) {
        const me = await attache.client(apiKey).get('/account');
        expect(me.status).toBe(200);
        expect(me.body.id).toBe(account.id);
      }
      const keys = await attache.pg.query('SELECT count(*)::int AS n FROM api_keys WHERE account_id = $1', [account.id]);
      expect(keys.rows[0].n).toBe(2);
    });

    it('keys:create for an unknown email exits non-zero with one line on stderr', async () => {
      const run = await cli(['keys:create', email('nobody')]);
      expectOneLineError(run, 'No account with email');
      expect(run.stdout).toBe('');
    });
  });

  describe('services:publish', () => {
    it('makes a pushed service visible to and installable by another account', async () => {
      const { vendor } = await attache.startVendor('cli', {}, { publish: false });
      const dev = await attache.createAccount();
      const visible = async () => ((await attache.client(dev.apiKey).get('/addon-services')).body as { name: string }[]).some((s) => s.name === vendor.slug);
      expect(await visible()).toBe(false);

      const run = await cli(['services:publish', vendor.slug]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(vendor.slug);

      expect(await visible()).toBe(true);
      const service = await attache.client(dev.apiKey).get(`/addon-services/${vendor.slug}`);
      expect(service.body).toMatchObject({ name: vendor.slug, state: 'ga' });
      const app = await attache.createApp(dev.apiKey);
      const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
      expect(created.status).toBe(201);
      await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    });

    it('an unknown slug exits non-zero with one line on stderr', async () => {
      expectOneLineError(await cli(['services:publish', `nope-${randomBytes(3).toString('hex')}`]), 'No add-on service');
    });
  });

  describe('vendor:push', () => {
    it('pushes a manifest file, printing the client secret on the first push only; the secret works at /oauth/token', async () => {
      const vendor = await attache.newVendor('cli');
      const owner = await attache.createAccount('vendor');
      const manifest = manifestFor(vendor);
      const file = join(dir, `${vendor.slug}.json`);
      writeFileSync(file, JSON.stringify(manifest, null, 2));

      const first = await cli(['vendor:push', file, '--url', attache.url, '--api-key', owner.apiKey]);
      expect(first.code).toBe(0);
      expect(first.stderr).toBe('');
      const secret = lastLine(first.stdout);
      expect(secret).toMatch(/^acs_\S+$/);

      const current = await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/current_manifest`);
      expect(current.status).toBe(200);
      expect(current.body.contents).toEqual(manifest);

      writeFileSync(file, JSON.stringify({ ...manifest, name: 'Second Push' }));
      const second = await cli(['vendor:push', file, '--url', attache.url], { ATTACHE_API_KEY: owner.apiKey });
      expect(second.code).toBe(0);
      expect(second.stdout).not.toMatch(/acs_/);
      const history = await attache.client(owner.apiKey).get(`/api/v3/addons/${vendor.slug}/manifests`);
      expect(history.body).toHaveLength(2);

      // The printed secret is the service's: it exchanges a grant code from a provision.
      await attache.publishService(vendor.slug);
      const dev = await attache.createAccount();
      const app = await attache.createApp(dev.apiKey);
      const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${vendor.slug}:basic` });
      await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
      const code = vendor.callsFor(created.body.id)[0].body.oauth_grant.code as string;
      const token = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code, client_secret: secret });
      expect(token.status).toBe(200);
      expect(token.body.access_token).toMatch(/^atp_/);
    });

    it('refuses bad files, bad manifests, bad keys and unreachable servers in one line each, creating nothing', async () => {
      const vendor = await attache.newVendor('cli');
      const owner = await attache.createAccount('vendor');
      const missing = join(dir, 'missing.json');
      const notJson = join(dir, 'not-json.json');
      writeFileSync(notJson, '{ "id": ');
      const noId = join(dir, 'no-id.json');
      writeFileSync(noId, JSON.stringify({ name: 'nameless' }));
      const invalid = join(dir, `${vendor.slug}-invalid.json`);
      writeFileSync(invalid, JSON.stringify(manifestFor(vendor, { api: { config_vars: ['WRONG_URL'] } })));
      const valid = join(dir, `${vendor.slug}.json`);
      writeFileSync(valid, JSON.stringify(manifestFor(vendor)));
      const push = (file: string, apiKey = owner.apiKey, url = attache.url) => cli(['vendor:push', file, '--url', url, '--api-key', apiKey]);

      const runs = await Promise.all([
        push(missing),
        push(notJson),
        push(noId),
        push(invalid),
        push(valid, 'atk_not-a-real-key'),
        push(valid, owner.apiKey, 'http://127.0.0.1:9'),
        cli(['vendor:push', valid, '--url', attache.url]),
      ]);
      expectOneLineError(runs[0], 'missing.json');
      expectOneLineError(runs[1], 'not-json.json');
      expectOneLineError(runs[2], '"id"');
      expectOneLineError(runs[3], 'api.config_vars[0]');
      expectOneLineError(runs[4], 'HTTP 401');
      expectOneLineError(runs[5], '127.0.0.1:9');
      expectOneLineError(runs[6], 'API key');
      for (const run of runs) expect(run.stdout).not.toMatch(/acs_/);
      expect((await attache.pg.query('SELECT count(*)::int AS n FROM addon_services WHERE slug = $1', [vendor.slug])).rows[0].n).toBe(0);
    });
  });

  describe('help and failures', () => {
    it('--help lists every command, and every command has its own --help', async () => {
      const accounts = async () => (await attache.pg.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n as number;
      const before = await accounts();
      const top = await cli(['--help']);
      expect(top.code).toBe(0);
      for (const command of COMMANDS) expect(top.stdout).toContain(command);

      const runs = await Promise.all(COMMANDS.map((command) => cli([command, '--help'])));
      runs.forEach((run, i) => {
        expect({ command: COMMANDS[i], code: run.code, stderr: run.stderr }).toEqual({ command: COMMANDS[i], code: 0, stderr: '' });
        expect(run.stdout).toContain(`Usage: attache ${COMMANDS[i]}`);
      });
      // Asking for help runs nothing: `accounts:create x@y --help` creates no account.
      const withArgument = await cli(['accounts:create', email('helped'), '--help']);
      expect(withArgument.code).toBe(0);
      expect(withArgument.stdout).not.toMatch(/atk_/);
      expect(await accounts()).toBe(before);
    });

    it('reports an unreachable database and a bad configuration in one line, without a stack trace', async () => {
      const database = attache.env.DATABASE_URL.replace(/\/[^/]+$/, `/attache_missing_${randomBytes(3).toString('hex')}`);
      expectOneLineError(await cli(['keys:create', email('x')], { DATABASE_URL: database }), 'does not exist');
      const badKey = await cli(['keys:create', email('x')], { ATTACHE_ENCRYPTION_KEY: 'too-short' });
      expect(badKey.code).toBe(1);
      expect(badKey.stderr).toContain('ATTACHE_ENCRYPTION_KEY');
      expect(badKey.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    });
  });
});
