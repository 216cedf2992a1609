import { randomBytes } from 'node:crypto';
import { ExampleVendorServer, exampleVendorManifest } from '../../apps/example-vendor/src';
import { herokuCliSuite } from '../support/heroku-cli-suite';

/**
 * The real Heroku CLI (npm heroku@11) against a running Attache, for the apps, addons and
 * config commands, with the example vendor as the add-on provider.
 */
describe('the Heroku CLI against Attache', () => {
  const suite = herokuCliSuite('cli');
  const { heroku } = suite;
  let vendor: ExampleVendorServer;
  let slug: string;
  const app = `cli-${randomBytes(3).toString('hex')}`;
  const consumer = `${app}-b`;

  beforeAll(async () => {
    const { attache } = suite;
    slug = `notes-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const ssoSalt = randomBytes(16).toString('hex');
    vendor = new ExampleVendorServer({ port: 0, slug, password, ssoSalt, attacheUrl: attache.url, asyncDelayMs: 50 });
    await vendor.start();
    const registered = await attache.registerVendor(exampleVendorManifest({ slug, baseUrl: vendor.baseUrl, ssoUrl: vendor.ssoUrl, password, ssoSalt }));
    // The client secret exists only after the first push, so the vendor learns it afterwards.
    await vendor.stop();
    vendor = new ExampleVendorServer({ port: 0, slug, password, ssoSalt, attacheUrl: attache.url, asyncDelayMs: 50, clientSecret: registered.clientSecret });
    await vendor.start();
    await attache.pg.query('UPDATE addon_services SET base_url = $1 WHERE slug = $2', [vendor.baseUrl, slug]);
  });

  afterAll(async () => {
    await vendor?.stop();
  });

  it('creates, lists and shows apps', async () => {
    expect(await heroku('apps:create', app)).toContain(`Creating ${app}... done`);
    await heroku('apps:create', consumer);
    expect(await heroku('apps')).toMatch(new RegExp(`${app}\\n`));
    const info = await heroku('apps:info', '-a', app);
    expect(info).toContain(`=== ${app}`);
    expect(info).toMatch(/Region:\s+us/);
  });

  it('browses the catalog', async () => {
    expect(await heroku('addons:services')).toMatch(new RegExp(`${slug}\\s+Sudo Notes\\s+ga`));
    const plans = await heroku('addons:plans', slug);
    expect(plans).toMatch(new RegExp(`default\\s+${slug}:test\\s+Test\\s+free`));
    expect(plans).toMatch(new RegExp(`${slug}:basic\\s+Basic\\s+~\\$0\\.007/hour\\s+\\$5/month`));
  });

  it('creates add-ons (sync and async), shows them and sets their config vars', async () => {
    const created = await heroku('addons:create', `${slug}:basic`, '-a', app, '--name', `${app}-notes`, '--wait');
    expect(created).toContain(`Created ${app}-notes as SUDO_NOTES_URL`);
    const background = await heroku('addons:create', `${slug}:async`, '-a', app, '--as', 'DRAFTS', '--', '--color', 'blue');
    expect(background).toContain('is being created in the background');
    expect(await heroku('addons:wait', '-a', app)).not.toContain('Error');
    const vars = await heroku('config', '-a', app);
    expect(vars).toMatch(/SUDO_NOTES_URL:\s+http:\/\/127\.0\.0\.1:\d+\/notebooks\//);
    expect(vars).toMatch(/DRAFTS_URL:\s+http:\/\/127\.0\.0\.1:\d+\/notebooks\//);
    const listed = await heroku('addons', '-a', app);
    expect(listed).toMatch(new RegExp(`${slug} \\(${app}-notes\\)\\s+basic\\s+~\\$0\\.007/hour\\s+\\$5/month\\s+created`));
    expect(listed).toContain('as DRAFTS');
    expect(await heroku('addons', '--all')).toContain(`${app}-notes`);

    for (const reference of [[`${app}-notes`], ['SUDO_NOTES', '-a', app]]) {
      const info = await heroku('addons:info', ...reference);
      expect(info).toContain(`=== ${app}-notes`);
      expect(info).toMatch(new RegExp(`Plan:\\s+${slug}:basic`));
      expect(info).toMatch(/State:\s+created/);
    }
    // Two add-ons of the service on the app: the service name alone is ambiguous.
    expect((await suite.cli.run(['addons:info', slug, '-a', app])).output).toContain('Ambiguous identifier');
  });

  it('shares an add-on with another app and detaches it', async () => {
    const attached = await heroku('addons:attach', `${app}-notes`, '-a', consumer, '--as', 'SHARED_NOTES');
    expect(attached).toMatch(/Setting SHARED_NOTES config vars and restarting .*\.\.\. done, v2/);
    const owner = await heroku('config:get', 'SUDO_NOTES_URL', '-a', app);
    expect((await heroku('config:get', 'SHARED_NOTES_URL', '-a', consumer)).trim()).toBe(owner.trim());
    expect(await heroku('addons', '-a', consumer)).toContain(`(billed to ${app} app)`);
    expect(await heroku('addons:detach', 'SHARED_NOTES', '-a', consumer)).toContain('done, v3');
    expect((await heroku('config:get', 'SHARED_NOTES_URL', '-a', consumer)).trim()).toBe('');
  });

  it('upgrades, downgrades and renames an add-on', async () => {
    expect(await heroku('addons:upgrade', `${app}-notes`, 'pro')).toContain(`to ${slug}:pro... done, ~$0.035/hour (max $25/month)`);
    await heroku('addons:wait', `${app}-notes`);
    await waitFor(async () => (await heroku('addons:info', `${app}-notes`)).includes(`${slug}:pro`));
    expect(await heroku('addons:downgrade', 'SUDO_NOTES', `${slug}:basic`, '-a', app)).toContain(`to ${slug}:basic... done`);
    await waitFor(async () => (await heroku('addons:info', `${app}-notes`)).includes(`${slug}:basic`));
    expect(await heroku('addons:rename', `${app}-notes`, `${app}-journal`)).toContain(`${app}-notes successfully renamed to ${app}-journal.`);
  });

  it('sets, reads and unsets config vars', async () => {
    expect(await heroku('config:set', 'GREETING=hello world', '-a', app)).toMatch(/Setting GREETING and restarting .*\.\.\. done, v\d+/);
    expect((await heroku('config:get', 'GREETING', '-a', app)).trim()).toBe('hello world');
    await heroku('config:unset', 'GREETING', '-a', app);
    expect(await heroku('config', '-a', app)).not.toContain('GREETING');
  });

  it('destroys add-ons and apps', async () => {
    expect(await heroku('addons:destroy', `${app}-journal`, '-a', app, '--confirm', app, '--wait')).toContain('done');
    expect(await heroku('config', '-a', app)).not.toContain('SUDO_NOTES_URL');
    expect(vendor.resources().size).toBeGreaterThanOrEqual(2);
    expect([...vendor.resources().values()].filter((r) => r.deprovisioned)).toHaveLength(1);
    expect(await heroku('apps:destroy', app, '--confirm', app)).toContain(`Destroying ${app} (including all add-ons)... done`);
    await heroku('apps:destroy', consumer, '--confirm', consumer);
    expect(await heroku('apps')).not.toContain(app);
    await waitFor(async () => [...vendor.resources().values()].every((r) => r.deprovisioned));
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('condition not met in time');
}
