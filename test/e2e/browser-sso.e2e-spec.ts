import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { ExampleVendorServer, exampleVendorManifest } from '../../apps/example-vendor/src';
import { AttacheHarness } from '../support/attache-harness';
import { setPassword } from '../support/browser-sign-in';

/** Debian's Chromium, installed by scripts/chromium.sh (npm test runs it); Playwright downloads no browser. */
const CHROMIUM = '/usr/bin/chromium';
const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');
const SCREENSHOT = join(OUTPUT_DIR, 'browser-sso-dashboard.png');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PASSWORD = 'a browser test password';

/**
 * A real browser through the whole single sign-on path: the add-on's web_url sends it to /login,
 * signing in brings it back, the landing page submits the signed form by itself, and the example
 * vendor's dashboard opens (issue 7, "Done when").
 */
describe('single sign-on in a browser', () => {
  let attache: AttacheHarness;
  let vendor: ExampleVendorServer;
  let browser: Browser;
  let slug: string;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    slug = `notes-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const ssoSalt = randomBytes(16).toString('hex');
    vendor = new ExampleVendorServer({ port: 0, slug, password, ssoSalt });
    await vendor.start();
    await attache.registerVendor(exampleVendorManifest({ slug, baseUrl: vendor.baseUrl, ssoUrl: vendor.ssoUrl, password, ssoSalt }));
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/chromium.sh (npm test does)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(OUTPUT_DIR, { recursive: true });
    rmSync(SCREENSHOT, { force: true });
  });

  afterAll(async () => {
    await browser?.close();
    await vendor?.stop();
    await attache?.stop();
  });

  it("signs in on /login, opens the add-on's web_url and lands on the example vendor's dashboard", async () => {
    const owner = await attache.createAccount('browser-sso');
    expect((await setPassword(attache, owner.email, PASSWORD)).code).toBe(0);
    const app = await attache.createApp(owner.apiKey);
    const created = await attache.client(owner.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
    expect(created.status).toBe(201);
    const addon = await attache.waitForAddon(owner.apiKey, created.body.id, (a) => a.state === 'provisioned');
    const webUrl = addon.web_url as string;
    expect(webUrl).toBe(`${attache.url}/sso/apps/${app.id}/addons/${created.body.id}`);

    const context = await browser.newContext();
    const page = await context.newPage();
    // Not signed in yet: the landing page sends the browser to /login, remembering where it was going.
    await page.goto(webUrl);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(new URL(webUrl).pathname);
    await page.fill('#email', owner.email);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${new URL(vendor.ssoUrl).origin}/dashboard/**`), page.click('#password-sign-in button[type=submit]')]);

    expect(page.url()).toBe(`${new URL(vendor.ssoUrl).origin}/dashboard/${created.body.id}`);
    expect(await page.title()).toBe(`Sudo Notes — ${created.body.name}`);
    expect(await page.textContent('h1')).toBe(`Sudo Notes — ${created.body.name}`);
    const details = await page.textContent('dl');
    expect(details).toContain('Basic');
    expect(details).toContain(app.name);
    expect(details).toContain(owner.email);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    const png = readFileSync(SCREENSHOT);
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(png.length).toBeGreaterThan(1000);

    // Signed in already: the web_url goes straight through to the dashboard.
    await page.goto('about:blank');
    await page.goto(webUrl, { waitUntil: 'commit' });
    await page.waitForURL(`${new URL(vendor.ssoUrl).origin}/dashboard/${created.body.id}`);
    expect(await page.textContent('h1')).toBe(`Sudo Notes — ${created.body.name}`);
    await context.close();
  });

  it('follows a vendor whose SSO address sends the browser on to another origin (browsers hold that redirect to the page’s form-action)', async () => {
    const hopSlug = `hops-${randomBytes(3).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    const ssoSalt = randomBytes(16).toString('hex');
    const dashboards = new ExampleVendorServer({ port: 0, slug: hopSlug, password, ssoSalt });
    await dashboards.start();
    // The manifest's sso_url is on another origin (127.0.0.2), which passes the POST on (307) to the dashboards' host.
    const hop = createServer((_req, res) => {
      res.writeHead(307, { Location: dashboards.ssoUrl });
      res.end();
    });
    await new Promise<void>((resolve) => hop.listen(0, '127.0.0.2', resolve));
    try {
      const ssoUrl = `http://127.0.0.2:${(hop.address() as AddressInfo).port}/sso`;
      await attache.registerVendor(exampleVendorManifest({ slug: hopSlug, baseUrl: dashboards.baseUrl, ssoUrl, password, ssoSalt }));
      const owner = await attache.createAccount('browser-sso-hop');
      expect((await setPassword(attache, owner.email, PASSWORD)).code).toBe(0);
      const app = await attache.createApp(owner.apiKey);
      const created = await attache.client(owner.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${hopSlug}:basic` });
      expect(created.status).toBe(201);
      const addon = await attache.waitForAddon(owner.apiKey, created.body.id, (a) => a.state === 'provisioned');

      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(addon.web_url as string);
      await page.fill('#email', owner.email);
      await page.fill('#password', PASSWORD);
      await Promise.all([page.waitForURL(`${new URL(dashboards.ssoUrl).origin}/dashboard/**`), page.click('#password-sign-in button[type=submit]')]);
      expect(await page.textContent('h1')).toBe(`Sudo Notes — ${created.body.name}`);
      await context.close();
    } finally {
      await new Promise((resolve) => hop.close(resolve));
      await dashboards.stop();
    }
  });
});
