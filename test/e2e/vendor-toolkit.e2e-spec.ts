import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateManifest } from '@app/domain';
import { ExampleVendorServer, exampleVendorManifest } from '../../apps/example-vendor/src';
import { AttacheHarness } from '../support/attache-harness';
import { FaultyVendor, VendorFault } from '../support/faulty-vendor';

const BIN = join(__dirname, '..', '..', 'bin', 'attache.js');

/** Every check vendor:check runs, in its order. */
const CHECKS = [
  'manifest',
  'provision.auth',
  'provision.response',
  'provision.id',
  'provision.config',
  'provision.idempotent',
  'provision.many-per-app',
  'provision.async',
  'plan-change',
  'plan-change.no-op',
  'plan-change.auth',
  'sso.bad-token',
  'sso.stale-timestamp',
  'sso.login',
  'deprovision.auth',
  'deprovision',
  'deprovision.repeat',
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const lines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
/** The check lines of a vendor:check run: `[name, ok, reason]`. */
const checkLines = (run: Run) =>
  lines(run.stdout)
    .map((line) => /^(ok {3}|FAIL )(\S+?)(?::\s(.*)|\s\(.*\))?$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[2], ok: m[1] === 'ok   ', reason: m[3] ?? '' }));

/** The vendor toolkit (`attache vendor:init | vendor:push | vendor:check`) as a vendor runs it: the real CLI process. */
describe('the vendor toolkit', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'attache-vendor-kit-'));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI with only node's needs: a vendor's machine has no Attache database. */
  function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
    const env = { PATH: process.env.PATH ?? '', HOME: dir, NODE_ENV: 'test', ...extraEnv };
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env, cwd: dir, timeout: 90_000 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  function writeManifest(name: string, manifest: unknown): string {
    const file = join(dir, `${name}-${randomBytes(3).toString('hex')}.json`);
    writeFileSync(file, JSON.stringify(manifest, null, 2));
    return file;
  }

  describe('vendor:check', () => {
    it('passes every check against the example vendor, its async plan completing through the stand-in partner API', async () => {
      const slug = `notes-${randomBytes(3).toString('hex')}`;
      const password = randomBytes(16).toString('hex');
      const ssoSalt = randomBytes(16).toString('hex');
      const clientSecret = randomBytes(16).toString('hex');
      // No attacheUrl: the vendor finds the partner API through callback_url, as it does with Attache.
      const vendor = new ExampleVendorServer({ port: 0, slug, password, ssoSalt, clientSecret, asyncDelayMs: 50 });
      await vendor.start();
      try {
        const file = writeManifest(slug, exampleVendorManifest({ slug, baseUrl: vendor.baseUrl, ssoUrl: vendor.ssoUrl, password, ssoSalt }));
        const run = await cli(['vendor:check', '--manifest', file, '--async-plan', 'async', '--async-timeout', '30', '--client-secret', clientSecret]);

        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
        expect(lines(run.stdout)[0]).toBe(`Checking ${slug}, test environment: ${vendor.baseUrl}; the manifest has no api.test, so api.production`);
        const results = checkLines(run);
        expect(results.map((r) => r.name)).toEqual(CHECKS);
        expect(results.filter((r) => !r.ok)).toEqual([]);
        expect(lines(run.stdout).at(-1)).toBe(`${CHECKS.length} passed, 0 failed`);
        expect(run.stdout).not.toContain(password);
        expect(run.stdout).not.toContain(ssoSalt);

        // The vendor really did the work: the main notebook changed plan and, with everything the
        // checker made, was deprovisioned again; the async one was completed.
        const notebooks = [...vendor.resources().values()];
        expect(notebooks.length).toBeGreaterThanOrEqual(3);
        expect(notebooks.every((nb) => nb.deprovisioned)).toBe(true);
        expect(notebooks.some((nb) => nb.plan === 'basic')).toBe(true);
        expect(notebooks.some((nb) => nb.plan === 'async')).toBe(true);
      } finally {
        await vendor.stop();
      }
    });

    it('in the production environment, refuses plain-http URLs in the manifest and localhost URLs in config', async () => {
      const slug = `notes-${randomBytes(3).toString('hex')}`;
      const [password, ssoSalt] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
      const vendor = new ExampleVendorServer({ port: 0, slug, password, ssoSalt });
      await vendor.start();
      try {
        const file = writeManifest(slug, exampleVendorManifest({ slug, baseUrl: vendor.baseUrl, ssoUrl: vendor.ssoUrl, password, ssoSalt }));
        const run = await cli(['vendor:check', '--manifest', file, '--env', 'production']);
        expect(run.code).toBe(1);
        const failures = checkLines(run).filter((r) => !r.ok);
        expect(failures).toEqual([
          { name: 'manifest', ok: false, reason: 'api.production.base_url must be an https URL; api.production.sso_url must be an https URL' },
          { name: 'provision.config', ok: false, reason: expect.stringMatching(/got: SUDO_NOTES_URL points at 127\.0\.0\.1 \(not allowed in production\)$/) },
        ]);
        expect(lines(run.stdout).at(-1)).toBe(`${CHECKS.length - 2} passed, 2 failed`);
      } finally {
        await vendor.stop();
      }
    });

    /**
     * Each broken vendor and every check it must fail, with the reason; no other check may fail.
     * Between them they make every check fail at least once (the manifest check fails in the
     * production test above).
     */
    const faults: [VendorFault, Record<string, RegExp>][] = [
      [
        'accepts-wrong-credentials',
        {
          'provision.auth': /^expected 401 for wrong credentials, got HTTP 200/,
          'plan-change.auth': /^expected 401 for wrong credentials, got HTTP 200/,
          'deprovision.auth': /^expected 401 for wrong credentials, got HTTP 204 with an empty body$/,
        },
      ],
      [
        'non-json',
        {
          'provision.response': /^expected a JSON body, got HTTP 200 \(text\/html\) with "<html>/,
          'provision.id': /^the provision response is not JSON$/,
          'provision.config': /^the provision response is not JSON$/,
          'provision.idempotent': /^cannot compare: the first provision answered no id$/,
          'provision.many-per-app': /^cannot compare: the first provision answered no id$/,
          'provision.async': /^expected 202 to POST with plan "async", got HTTP 200 with "<html>/,
        },
      ],
      [
        'no-id',
        {
          // Config values are credentials: a quoted body shows them redacted.
          'provision.id': /^expected an "id" \(string or number\), got "\{\\"config\\":\{\\"FAULTY_URL\\":\\"\[redacted\]\\"\}\}"$/,
          'provision.idempotent': /^cannot compare: the first provision answered no id$/,
          'provision.many-per-app': /^cannot compare: the first provision answered no id$/,
        },
      ],
      ['undeclared-config', { 'provision.config': /^expected config keys declared in api\.config_vars and starting with "FAULTY_", with string values; got: FAULTY_EXTRA is not declared in api\.config_vars$/ }],
      ['unprefixed-config', { 'provision.config': /got: OTHER_URL does not start with "FAULTY_"; OTHER_URL is not declared in api\.config_vars$/ }],
      ['non-string-config', { 'provision.config': /got: FAULTY_URL is a number, expected a string$/ }],
      ['bad-url-config', { 'provision.config': /got: FAULTY_URL is not a valid URL$/ }],
      ['new-id-on-repeat', { 'provision.idempotent': /^expected the same id "r-[0-9a-f]+" for a repeated uuid, got "r-[0-9a-f]+"$/ }],
      ['one-id-for-all', { 'provision.many-per-app': /^expected a new id for a distinct uuid \(many_per_app\), got the first one again \("r-the-only-one"\)$/ }],
      ['never-calls-back', { 'provision.async': /^expected POST \/addons\/[0-9a-f-]+\/actions\/provision .* within 3 s of the 202, got none \(seen: token exchange no, config update no\)$/ }],
      ['plan-change-fails', { 'plan-change': /^expected 2xx for a change to plan "basic", got HTTP 422 with "\{\\"message\\":\\"Plan changes are not supported\.\\"\}"$/ }],
      ['no-op-plan-change-fails', { 'plan-change.no-op': /^expected 2xx for a change to the current plan "basic", got HTTP 422/ }],
      ['sso-accepts-bad-token', { 'sso.bad-token': /^expected 403 for a wrong resource_token, got HTTP 200/ }],
      ['sso-accepts-stale-timestamp', { 'sso.stale-timestamp': /^expected 403 for a correctly signed timestamp six minutes old, got HTTP 200/ }],
      // sha1("salt:uuid:timestamp") instead of sha1("uuid:salt:timestamp"): it refuses the good login.
      ['sso-wrong-token-formula', { 'sso.login': /^expected a 2xx page or a redirect to the dashboard for a good token, got HTTP 403/ }],
      ['sso-bad-redirect', { 'sso.login': /^expected a redirect to the dashboard for a good token, got a Location that is not a URL: "http:\/\/\[dashboard\/"$/ }],
      [
        'deprovision-fails',
        {
          deprovision: /^expected 2xx, got HTTP 500 with "\{\\"message\\":\\"Cannot delete right now\.\\"\}"$/,
          'deprovision.repeat': /^expected a 2xx, 404 or 410 for a repeated DELETE, got HTTP 500/,
        },
      ],
      ['repeat-delete-fails', { 'deprovision.repeat': /^expected a 2xx, 404 or 410 for a repeated DELETE, got HTTP 500 with "\{\\"message\\":\\"Already deleted\.\\"\}"$/ }],
    ];

    it('passes a correct vendor, and names every failing check with a reason for each deliberately broken one', async () => {
      // Every check but the manifest one (failed above) has a broken vendor that fails it.
      expect([...new Set(faults.flatMap(([, expected]) => Object.keys(expected)))].sort()).toEqual(CHECKS.filter((name) => name !== 'manifest').sort());
      const vendors = [undefined, ...faults.map(([fault]) => fault)].map((fault) => new FaultyVendor(`faulty-${randomBytes(3).toString('hex')}`, fault));
      await Promise.all(vendors.map((v) => v.start()));
      try {
        // Only the vendor that never calls back waits out its deadline; the others finish as soon as
        // they are done, so a generous deadline keeps a busy machine from failing them.
        const runs = await Promise.all(
          vendors.map((vendor) => {
            const deadline = vendor.fault === 'never-calls-back' ? '3' : '60';
            return cli(['vendor:check', '--manifest', writeManifest(vendor.slug, vendor.manifest()), '--async-plan', 'async', '--async-timeout', deadline]);
          }),
        );
        const [correct, ...broken] = runs;
        expect({ code: correct.code, stderr: correct.stderr, failed: checkLines(correct).filter((r) => !r.ok) }).toEqual({ code: 0, stderr: '', failed: [] });
        expect(lines(correct.stdout).at(-1)).toBe(`${CHECKS.length} passed, 0 failed`);
        // Everything the checker provisioned was deprovisioned again.
        expect(vendors[0].leftovers()).toEqual([]);

        broken.forEach((run, i) => {
          const [fault, expected] = faults[i];
          const results = checkLines(run);
          expect({ fault, code: run.code, stderr: run.stderr, checks: results.map((r) => r.name) }).toEqual({ fault, code: 1, stderr: '', checks: CHECKS });
          const failures = results.filter((r) => !r.ok);
          expect({ fault, failures: failures.map((r) => r.name) }).toEqual({ fault, failures: CHECKS.filter((name) => name in expected) });
          for (const failure of failures) {
            expect({ fault, check: failure.name, reason: failure.reason }).toEqual({ fault, check: failure.name, reason: expect.stringMatching(expected[failure.name]) });
            expect(lines(run.stdout)).toContain(`FAIL ${failure.name}: ${failure.reason}`);
          }
          expect(lines(run.stdout).at(-1)).toBe(`${CHECKS.length - failures.length} passed, ${failures.length} failed`);
          expect(run.stdout).not.toContain(vendors[i + 1].password);
          expect(run.stdout).not.toContain(vendors[i + 1].ssoSalt);
          // Config values are credentials: reasons name keys and quote bodies with the values redacted.
          expect({ fault, configValues: run.stdout.match(/example\.test\/r/g) }).toEqual({ fault, configValues: null });
          if (fault !== 'deprovision-fails') expect({ fault, leftovers: vendors[i + 1].leftovers() }).toEqual({ fault, leftovers: [] });
        });
      } finally {
        await Promise.all(vendors.map((v) => v.stop()));
      }
    });

    it('on Ctrl-C, stops waiting, deprovisions what it provisioned and exits 130', async () => {
      const vendor = new FaultyVendor(`stuck-${randomBytes(3).toString('hex')}`, 'plan-change-hangs');
      await vendor.start();
      try {
        const file = writeManifest(vendor.slug, vendor.manifest());
        const child = execFile(process.execPath, [BIN, 'vendor:check', '--manifest', file, '--timeout', '600'], { env: { PATH: process.env.PATH ?? '', HOME: dir }, cwd: dir });
        let [stdout, stderr] = ['', ''];
        child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        await vendor.hanging;
        child.kill('SIGINT');
        const code = await exited;
        expect({ code, stderr: lines(stderr) }).toEqual({ code: 130, stderr: ['Interrupted: deprovisioning what the checks provisioned (interrupt again to stop at once).'] });
        const results = checkLines({ code, stdout, stderr });
        expect(results.find((r) => r.name === 'plan-change')).toEqual({ name: 'plan-change', ok: false, reason: expect.stringMatching(/^expected 2xx for a change to plan "basic", got no answer to PUT http:\/\/127\.0\.0\.1:\d+\/heroku\/resources\/[0-9a-f-]+ before the run was interrupted$/) });
        expect(results.filter((r) => r.ok).map((r) => r.name)).toEqual(CHECKS.slice(0, CHECKS.indexOf('plan-change')));
        expect(vendor.leftovers()).toEqual([]);
      } finally {
        await vendor.stop();
      }
    });

    it('reports an unreachable vendor as failures with reasons, not a crash', async () => {
      const vendor = new FaultyVendor(`gone-${randomBytes(3).toString('hex')}`);
      await vendor.start();
      const file = writeManifest('gone', vendor.manifest());
      await vendor.stop();
      const run = await cli(['vendor:check', '--manifest', file, '--timeout', '2']);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: '' });
      const results = checkLines(run);
      expect(results.map((r) => r.name)).toEqual(CHECKS);
      expect(results.find((r) => r.name === 'manifest')?.ok).toBe(true);
      expect(results.find((r) => r.name === 'provision.response')?.reason).toMatch(/could not reach POST http:\/\/127\.0\.0\.1:\d+\/heroku\/resources: ECONNREFUSED/);
      expect(results.find((r) => r.name === 'sso.login')?.reason).toMatch(/ECONNREFUSED/);
      expect(lines(run.stdout).at(-1)).toMatch(/^\d+ passed, [1-9]\d* failed$/);
    });

    it('each toolkit command has its own --help, listed by attache --help', async () => {
      const [top, ...runs] = await Promise.all([cli(['--help']), ...['vendor:init', 'vendor:push', 'vendor:check'].map((c) => cli([c, '--help']))]);
      expect(top.code).toBe(0);
      for (const command of ['vendor:init', 'vendor:push', 'vendor:check']) expect(top.stdout).toContain(command);
      expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
      expect(runs[0].stdout).toMatch(/--id <slug>[\s\S]*--out <file>[\s\S]*--force/);
      expect(runs[1].stdout).toMatch(/--api <url>[\s\S]*--api-key <key>/);
      expect(runs[2].stdout).toMatch(/--manifest <file>[\s\S]*--env <env>[\s\S]*--async-plan <plan>/);
    });

    it('refuses a missing or unreadable manifest file in one line', async () => {
      const run = await cli(['vendor:check', '--manifest', join(dir, 'nope.json')]);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toEqual([expect.stringMatching(/^attache: Cannot read .*nope\.json as JSON/)]);
    });
  });

  describe('vendor:init and vendor:push', () => {
    let attache: AttacheHarness;

    beforeAll(async () => {
      attache = await AttacheHarness.start({ worker: false });
    });

    afterAll(async () => {
      await attache?.stop();
    });

    it('writes a valid manifest with fresh secrets, never overwrites it without --force, and pushes it into the catalog', async () => {
      const slug = `kit-${randomBytes(3).toString('hex')}`;
      const file = join(dir, `${slug}.json`);
      const init = await cli(['vendor:init', '--id', slug, '--out', file]);
      expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: '' });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      const validation = validateManifest(manifest, { production: true });
      expect(validation.ok).toBe(true);
      expect(manifest).toMatchObject({ id: slug, api: { config_vars: [`${slug.toUpperCase().replace('-', '_')}_URL`], version: '3' }, plans: [{ name: 'test', default: true }] });
      expect(manifest.api.password).toMatch(/^[\w-]{32}$/);
      expect(manifest.api.sso_salt).toMatch(/^[\w-]{32}$/);
      expect(manifest.api.sso_salt).not.toBe(manifest.api.password);
      expect(init.stdout).not.toContain(manifest.api.password);
      expect(init.stdout).not.toContain(manifest.api.sso_salt);

      const again = await cli(['vendor:init', '--id', slug, '--out', file]);
      expect(again.code).toBe(1);
      expect(lines(again.stderr)).toEqual([expect.stringContaining('already exists; pass --force')]);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(manifest);

      const forced = await cli(['vendor:init', '--id', slug, '--out', file, '--force']);
      expect(forced.code).toBe(0);
      const fresh = JSON.parse(readFileSync(file, 'utf8'));
      expect(fresh.api.password).not.toBe(manifest.api.password);
      expect(fresh.api.sso_salt).not.toBe(manifest.api.sso_salt);

      const badSlug = await cli(['vendor:init', '--id', 'Bad Slug', '--out', join(dir, 'bad.json')]);
      expect(badSlug.code).toBe(1);
      expect(lines(badSlug.stderr)).toEqual([expect.stringContaining('--id must be 2 to 50 lowercase letters')]);

      // The first push needs the vendor's account; the service then is in the catalog for it.
      const owner = await attache.createAccount('vendor');
      const noKey = await cli(['vendor:push', file, '--api', attache.url]);
      expect(noKey.code).toBe(1);
      expect(lines(noKey.stderr)).toEqual([expect.stringContaining('the first push needs your account\'s API key')]);

      const push = await cli(['vendor:push', file, '--api', attache.url, '--api-key', owner.apiKey]);
      expect({ code: push.code, stderr: push.stderr }).toEqual({ code: 0, stderr: '' });
      expect(lines(push.stdout).at(-1)).toMatch(/^acs_\S+$/);
      const service = await attache.client(owner.apiKey).get(`/addon-services/${slug}`);
      expect(service.status).toBe(200);
      expect(service.body).toMatchObject({ name: slug, human_name: fresh.name });
      const plans = await attache.client(owner.apiKey).get(`/addon-services/${slug}/plans`);
      expect(plans.body).toEqual([expect.objectContaining({ name: `${slug}:test`, default: true })]);

      // Later pushes may authenticate with the manifest's own id and password (HTTP Basic).
      writeFileSync(file, JSON.stringify({ ...fresh, name: 'Renamed Kit' }));
      const update = await cli(['vendor:push', file], { ATTACHE_URL: attache.url });
      expect({ code: update.code, stderr: update.stderr }).toEqual({ code: 0, stderr: '' });
      expect(update.stdout).not.toMatch(/acs_/);
      expect((await attache.client(owner.apiKey).get(`/addon-services/${slug}`)).body.human_name).toBe('Renamed Kit');
      expect((await attache.client(owner.apiKey).get(`/api/v3/addons/${slug}/manifests`)).body).toHaveLength(2);
    });

    it('gives up on an Attache that never answers after --timeout, in one line', async () => {
      const slug = `kit-${randomBytes(3).toString('hex')}`;
      const file = join(dir, `${slug}.json`);
      expect((await cli(['vendor:init', '--id', slug, '--out', file])).code).toBe(0);
      const sockets = new Set<Socket>();
      const silent = createServer(() => undefined).on('connection', (socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const api = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
        const run = await cli(['vendor:push', file, '--api', api, '--api-key', 'atk_unused', '--timeout', '1']);
        expect({ code: run.code, stderr: lines(run.stderr) }).toEqual({ code: 1, stderr: [`attache: No answer from ${api}/ within 1 s.`] });
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it('shows manifest mistakes locally, before contacting Attache', async () => {
      const slug = `kit-${randomBytes(3).toString('hex')}`;
      const file = join(dir, `${slug}.json`);
      expect((await cli(['vendor:init', '--id', slug, '--out', file])).code).toBe(0);
      const manifest = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...manifest, api: { ...manifest.api, config_vars: ['WRONG_URL'], regions: ['mars'] } }));
      // Nothing listens on port 9: a local refusal never gets as far as "Cannot reach".
      const run = await cli(['vendor:push', file, '--api', 'http://127.0.0.1:9', '--api-key', 'atk_unused']);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toHaveLength(1);
      expect(run.stderr).toContain('api.config_vars[0] must start with');
      expect(run.stderr).toContain('api.regions[0] must be one of');
      expect(run.stderr).not.toContain(manifest.api.password);
      expect((await attache.pg.query('SELECT count(*)::int AS n FROM addon_services WHERE slug = $1', [slug])).rows[0].n).toBe(0);
    });
  });
});
