import { createHash } from 'node:crypto';
import request from 'supertest';
import { SIGN_IN_FAILED } from '@app/domain';
import { AttacheHarness } from '../support/attache-harness';
import { inputValue, openSignInForm, postSignIn, setCookie, setPassword, signIn } from '../support/browser-sign-in';

const SALT = 'browser-sessions-sso-salt';
const PASSWORD = 'correct horse battery staple';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Browser sessions for Attache's own pages, and the add-on landing page behind `web_url` (docs/sso.md). */
describe('browser sessions and add-on landing pages', () => {
  let attache: AttacheHarness;
  let slug: string;
  let ssoUrl: string;
  let owner: { email: string; apiKey: string; id: string };
  let app: { id: string; name: string };
  let addon: { id: string; name: string; web_url: string };

  beforeAll(async () => {
    attache = await AttacheHarness.start({ postgres: true });
    const started = await attache.startVendor('browser', { api: { sso_salt: SALT } });
    slug = started.slug;
    ssoUrl = `${started.vendor.url}/sso/login`;
    owner = await attache.createAccount('browser-owner');
    const set = await setPassword(attache, owner.email, PASSWORD);
    expect(set).toMatchObject({ code: 0, stdout: expect.stringContaining(`Password set for ${owner.email}`) });
    app = await attache.createApp(owner.apiKey);
    const created = await attache.client(owner.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
    expect(created.status).toBe(201);
    addon = (await attache.waitForAddon(owner.apiKey, created.body.id, (a) => a.state === 'provisioned')) as unknown as typeof addon;
  });

  afterAll(async () => {
    await attache?.stop();
  });

  const page = (path: string, cookie?: string) => {
    const test = attache.http().get(path);
    return cookie ? test.set('Cookie', cookie) : test;
  };
  const landingPath = () => new URL(addon.web_url).pathname;

  it('gives add-ons and attachments a web_url on Attache, per app', async () => {
    expect(addon.web_url).toBe(`${attache.url}/sso/apps/${app.id}/addons/${addon.id}`);
    const other = await attache.createApp(owner.apiKey);
    const attached = await attache.client(owner.apiKey).post('/addon-attachments').send({ addon: addon.id, app: other.name });
    expect(attached.status).toBe(201);
    expect(attached.body.web_url).toBe(`${attache.url}/sso/apps/${other.id}/addons/${addon.id}`);
    const listed = await attache.client(owner.apiKey).get(`/apps/${app.name}/addons`);
    expect(listed.body.map((a: { web_url: string }) => a.web_url)).toEqual([addon.web_url]);
  });

  it('signs in with the password set by `attache accounts:password`: HttpOnly, SameSite=Lax cookies, not Secure over http, and only a hash stored', async () => {
    const form = await attache.http().get('/login?next=%2Fsso%2Fapps');
    expect(form.status).toBe(200);
    expect(form.headers['content-type']).toMatch(/^text\/html/);
    expect(form.headers['content-security-policy']).toContain("script-src 'nonce-");
    expect(inputValue(form.text, 'next')).toBe('/sso/apps');
    const formCookie = setCookie(form, 'attache_sign_in')!;
    expect(formCookie.header).toMatch(/HttpOnly/);
    expect(formCookie.header).toMatch(/SameSite=Lax/);
    expect(formCookie.header).not.toMatch(/Secure/);

    const signedIn = await postSignIn(attache, { email: owner.email.toUpperCase(), password: PASSWORD, next: landingPath() });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.location).toBe(landingPath());
    const session = setCookie(signedIn, 'attache_session')!;
    expect(session.header).toMatch(/; Path=\/;.*HttpOnly/);
    expect(session.header).toMatch(/SameSite=Lax/);
    expect(session.header).not.toMatch(/Secure/);
    const id = session.pair.split('=')[1];
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await attache.pg.query('SELECT id_hash, account_id, expires_at > now() AS live FROM browser_sessions WHERE account_id = $1', [owner.id]);
    expect(rows.rows).toContainEqual({ id_hash: sha256(id), account_id: owner.id, live: true });
    expect(JSON.stringify(rows.rows)).not.toContain(id);
    const stored = await attache.pg.query('SELECT password_hash FROM account_passwords WHERE account_id = $1', [owner.id]);
    expect(stored.rows[0].password_hash).toMatch(/^scrypt\$17\$8\$1\$/);
    expect(stored.rows[0].password_hash).not.toContain(PASSWORD);

    const home = await page('/', session.pair);
    expect(home.status).toBe(200);
    expect(home.text).toContain(owner.email);
  });

  it('refuses a wrong password, an unknown email and a bad API key with one generic message, and signs in with an API key', async () => {
    const failures = [
      await postSignIn(attache, { email: owner.email, password: 'not the password at all' }),
      await postSignIn(attache, { email: 'nobody-at-all@example.test', password: PASSWORD }),
      await postSignIn(attache, { api_key: 'atk_notakey' }),
    ];
    for (const failure of failures) {
      expect(failure.status).toBe(401);
      expect(failure.text).toContain(SIGN_IN_FAILED);
      expect(setCookie(failure, 'attache_session')).toBeUndefined();
    }
    const alerts = failures.map((f) => /<p class="error" role="alert">([^<]*)<\/p>/.exec(f.text)?.[1]);
    expect(new Set(alerts)).toEqual(new Set([SIGN_IN_FAILED]));
    const cookie = await signIn(attache, { api_key: owner.apiKey });
    expect((await page('/', cookie)).text).toContain(owner.email);
  });

  it('throttles repeated failures for one email, even with the right password afterwards', async () => {
    const victim = await attache.createAccount('browser-victim');
    expect((await setPassword(attache, victim.email, PASSWORD)).code).toBe(0);
    for (let i = 0; i < 5; i++) expect((await postSignIn(attache, { email: victim.email, password: `guess number ${i} wrong` })).status).toBe(401);
    const locked = await postSignIn(attache, { email: victim.email, password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(setCookie(locked, 'attache_session')).toBeUndefined();
    // Another account from the same address is not locked out by it.
    expect(await signIn(attache, { email: owner.email, password: PASSWORD })).toMatch(/^attache_session=/);
  });

  it('counts an attempt as it starts, so guesses sent all at once get no more checks than the limit', async () => {
    const target = await attache.createAccount('browser-burst');
    expect((await setPassword(attache, target.email, PASSWORD)).code).toBe(0);
    const forms = await Promise.all(Array.from({ length: 12 }, () => openSignInForm(attache)));
    const answers = await Promise.all(
      forms.map(({ cookie, csrf }, i) =>
        attache.http().post('/login').set('Cookie', cookie).set('Origin', attache.url).type('form').send({ _csrf: csrf, email: target.email, password: `burst guess ${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    // The refused ones did not count against the address: another account still signs in from it.
    expect((await postSignIn(attache, { email: target.email, password: PASSWORD })).status).toBe(429);
    expect(await signIn(attache, { email: owner.email, password: PASSWORD })).toMatch(/^attache_session=/);
  });

  it('sends browsers without a valid session to /login and back; forged, expired and idle sessions are refused', async () => {
    const anonymous = await page(landingPath());
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe(`/login?next=${encodeURIComponent(landingPath())}`);
    const forged = await page(landingPath(), 'attache_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(forged.status).toBe(303);
    expect(forged.text).not.toContain('resource_token');

    const expired = await signIn(attache, { email: owner.email, password: PASSWORD });
    await attache.pg.query("UPDATE browser_sessions SET expires_at = now() - interval '1 second', created_at = now() - interval '13 hours' WHERE id_hash = $1", [sha256(expired.split('=')[1])]);
    expect((await page(landingPath(), expired)).status).toBe(303);
    expect((await attache.pg.query('SELECT 1 FROM browser_sessions WHERE id_hash = $1', [sha256(expired.split('=')[1])])).rowCount).toBe(0);

    const idle = await signIn(attache, { email: owner.email, password: PASSWORD });
    await attache.pg.query("UPDATE browser_sessions SET last_seen_at = now() - interval '3 hours' WHERE id_hash = $1", [sha256(idle.split('=')[1])]);
    expect((await page('/', idle)).status).toBe(303);

    const fresh = await signIn(attache, { email: owner.email, password: PASSWORD });
    expect((await page(landingPath(), fresh)).status).toBe(200);
  });

  it('honours only same-origin paths as next', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/.//evil.example', '/%2e%2e//evil.example', 'javascript:alert(1)']) {
      const response = await postSignIn(attache, { email: owner.email, password: PASSWORD, next });
      expect(response.status).toBe(303);
      expect(response.headers.location).toBe('/');
    }
  });

  it('refuses state-changing forms without the right CSRF token or from another origin; sign-out ends the session for good', async () => {
    const cookie = await signIn(attache, { email: owner.email, password: PASSWORD });
    const home = await page('/', cookie);
    const token = inputValue(home.text, '_csrf')!;
    expect(token).toBeDefined();
    const logout = () => attache.http().post('/logout').set('Cookie', cookie).type('form');

    expect((await logout().set('Origin', attache.url).send({})).status).toBe(403);
    expect((await logout().set('Origin', attache.url).send({ _csrf: `${token.slice(0, -1)}x` })).status).toBe(403);
    const crossSite = await logout().set('Origin', 'http://evil.example').send({ _csrf: token });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers['content-type']).toMatch(/^text\/html/);
    // Another session's token is no good either.
    const otherCookie = await signIn(attache, { email: owner.email, password: PASSWORD });
    expect((await logout().set('Origin', attache.url).send({ _csrf: inputValue((await page('/', otherCookie)).text, '_csrf') })).status).toBe(403);
    expect((await page('/', cookie)).status).toBe(200);

    // The sign-in form needs its own cookie and token too.
    const { cookie: formCookie, csrf } = await openSignInForm(attache);
    const noToken = await attache.http().post('/login').set('Cookie', formCookie).set('Origin', attache.url).type('form').send({ email: owner.email, password: PASSWORD });
    expect(noToken.status).toBe(403);
    const noCookie = await attache.http().post('/login').set('Origin', attache.url).type('form').send({ _csrf: csrf, email: owner.email, password: PASSWORD });
    expect(noCookie.status).toBe(403);
    expect(setCookie(noCookie, 'attache_session')).toBeUndefined();

    const out = await logout().set('Origin', attache.url).send({ _csrf: token });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/login');
    expect(setCookie(out, 'attache_session')?.header).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expect((await attache.pg.query('SELECT 1 FROM browser_sessions WHERE id_hash = $1', [sha256(cookie.split('=')[1])])).rowCount).toBe(0);
    expect((await page('/', cookie)).status).toBe(303);
    expect((await page(landingPath(), cookie)).status).toBe(303);
    expect((await page('/', otherCookie)).status).toBe(200);
  });

  it('signing in again from a browser that carries a session ends that session', async () => {
    const first = await signIn(attache, { email: owner.email, password: PASSWORD });
    const { cookie: formCookie, csrf } = await openSignInForm(attache);
    const again = await attache.http().post('/login').set('Cookie', `${formCookie}; ${first}`).set('Origin', attache.url).type('form')
      .send({ _csrf: csrf, email: owner.email, password: PASSWORD });
    expect(again.status).toBe(303);
    const second = setCookie(again, 'attache_session')!.pair;
    expect(second).not.toBe(first);
    expect((await attache.pg.query('SELECT 1 FROM browser_sessions WHERE id_hash = $1', [sha256(first.split('=')[1])])).rowCount).toBe(0);
    expect((await page('/', first)).status).toBe(303);
    expect((await page('/', second)).status).toBe(200);
  });

  it("lists the signed-in developer's add-ons with links to their landing pages", async () => {
    const cookie = await signIn(attache, { email: owner.email, password: PASSWORD });
    const home = await page('/', cookie);
    expect(home.status).toBe(200);
    expect(home.text).toContain(`<a href="${landingPath()}">${addon.name}</a>`);
    expect(home.text).toContain(`${slug}:basic`);
    expect(home.text).toContain('Change your password');
  });

  it('changes a password with the current one and a CSRF token, signing out the other browsers', async () => {
    const dev = await attache.createAccount('browser-changer');
    // An account signed in with its API key sets its first password without a current one.
    const keyCookie = await signIn(attache, { api_key: dev.apiKey });
    const keyHome = await page('/', keyCookie);
    expect(keyHome.text).toContain('Set a password');
    const change = (cookie: string, fields: Record<string, string>) =>
      attache.http().post('/account/password').set('Cookie', cookie).set('Origin', attache.url).type('form').send(fields);
    expect((await change(keyCookie, { password: 'first password 123' })).status).toBe(403);
    expect((await change(keyCookie, { _csrf: inputValue(keyHome.text, '_csrf')!, password: 'short' })).status).toBe(422);
    expect((await change(keyCookie, { _csrf: inputValue(keyHome.text, '_csrf')!, password: 'first password 123' })).headers.location).toBe('/?changed=password');

    const cookie = await signIn(attache, { email: dev.email, password: 'first password 123' });
    const other = await signIn(attache, { email: dev.email, password: 'first password 123' });
    const token = inputValue((await page('/', cookie)).text, '_csrf')!;
    const wrong = await change(cookie, { _csrf: token, current_password: 'not the current one', password: 'second password 456' });
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('The current password is not right.');
    const changed = await change(cookie, { _csrf: token, current_password: 'first password 123', password: 'second password 456' });
    expect(changed.status).toBe(303);
    expect((await page('/?changed=password', cookie)).text).toContain('Your password was saved');
    expect((await page('/', other)).status).toBe(303);
    expect((await page('/', keyCookie)).status).toBe(303);
    expect((await postSignIn(attache, { email: dev.email, password: 'first password 123' })).status).toBe(401);
    expect(await signIn(attache, { email: dev.email, password: 'second password 456' })).toMatch(/^attache_session=/);
  });

  it('signs the vendor form for members of the app, on a page that submits it; a stranger gets 403 and nothing signed', async () => {
    const cookie = await signIn(attache, { email: owner.email, password: PASSWORD });
    const before = Math.floor(Date.now() / 1000);
    const landing = await page(landingPath(), cookie);
    expect(landing.status).toBe(200);
    expect(landing.headers['cache-control']).toBe('no-store');
    const csp = landing.headers['content-security-policy'] as string;
    expect(csp).toContain(`form-action 'self' ${new URL(ssoUrl).origin}`);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)![1];
    expect(landing.text).toContain(`<script nonce="${nonce}">document.getElementById('sso').submit();</script>`);
    expect(landing.text).toContain(`<form id="sso" method="post" action="${ssoUrl}">`);
    expect(landing.text).toMatch(/<button type="submit">Continue to/);
    const timestamp = inputValue(landing.text, 'timestamp')!;
    expect(Number(timestamp)).toBeGreaterThanOrEqual(before);
    expect(inputValue(landing.text, 'resource_id')).toBe(addon.id);
    expect(inputValue(landing.text, 'resource_token')).toBe(createHash('sha1').update(`${addon.id}:${SALT}:${timestamp}`).digest('hex'));
    expect(inputValue(landing.text, 'email')).toBe(owner.email);
    expect(inputValue(landing.text, 'app')).toBe(app.name);

    const stranger = await attache.createAccount('browser-stranger');
    const strangerCookie = await signIn(attache, { api_key: stranger.apiKey });
    const refused = await page(landingPath(), strangerCookie);
    expect(refused.status).toBe(403);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.text).not.toMatch(/resource_token|<form id="sso"/);
    // Their own app, with the add-on not attached to it: nothing either.
    const strangerApp = await attache.createApp(stranger.apiKey);
    const notAttached = await page(`/sso/apps/${strangerApp.id}/addons/${addon.id}`, strangerCookie);
    expect(notAttached.status).toBe(404);
    expect(notAttached.text).not.toContain('resource_token');
  });

  it('follows the app’s members as they change: a collaborator and a team member until removed, and nothing for a destroyed add-on', async () => {
    const signed = (text: string) => /resource_token|<form id="sso"/.test(text);
    const collaborator = await attache.createAccount('browser-collaborator');
    await attache.client(owner.apiKey).post(`/apps/${app.name}/collaborators`).send({ user: collaborator.email }).expect(201);
    const collaboratorCookie = await signIn(attache, { api_key: collaborator.apiKey });
    const opened = await page(landingPath(), collaboratorCookie);
    expect(opened.status).toBe(200);
    expect(inputValue(opened.text, 'email')).toBe(collaborator.email);
    await attache.client(owner.apiKey).delete(`/apps/${app.name}/collaborators/${collaborator.email}`).expect(200);
    const removed = await page(landingPath(), collaboratorCookie);
    expect(removed.status).toBe(403);
    expect(signed(removed.text)).toBe(false);

    const team = `bt-${Date.now().toString(36)}`;
    expect((await attache.client(owner.apiKey).post('/teams').send({ name: team })).status).toBe(201);
    const member = await attache.createAccount('browser-team-member');
    expect((await attache.client(owner.apiKey).put(`/teams/${team}/members`).send({ email: member.email, role: 'member' })).status).toBe(200);
    const teamApp = await attache.client(owner.apiKey).post('/teams/apps').send({ team });
    expect(teamApp.status).toBe(201);
    const teamAddon = await attache.client(owner.apiKey).post(`/apps/${teamApp.body.name}/addons`).send({ plan: `${slug}:basic` });
    expect(teamAddon.status).toBe(201);
    const provisioned = await attache.waitForAddon(owner.apiKey, teamAddon.body.id, (a) => a.state === 'provisioned');
    const teamPath = new URL(provisioned.web_url as string).pathname;
    const memberCookie = await signIn(attache, { api_key: member.apiKey });
    const asMember = await page(teamPath, memberCookie);
    expect(asMember.status).toBe(200);
    expect(inputValue(asMember.text, 'resource_id')).toBe(teamAddon.body.id);
    expect(inputValue(asMember.text, 'app')).toBe(teamApp.body.name);
    expect((await attache.client(owner.apiKey).delete(`/teams/${team}/members/${member.email}`)).status).toBe(200);
    const left = await page(teamPath, memberCookie);
    expect(left.status).toBe(403);
    expect(signed(left.text)).toBe(false);

    expect((await attache.client(owner.apiKey).delete(`/apps/${teamApp.body.name}/addons/${teamAddon.body.id}`)).status).toBe(200);
    await attache.waitForAddonGone(owner.apiKey, teamAddon.body.id);
    const ownerCookie = await signIn(attache, { api_key: owner.apiKey });
    const destroyed = await page(teamPath, ownerCookie);
    expect(destroyed.status).toBe(404);
    expect(signed(destroyed.text)).toBe(false);
  });

  it("shows a first-party add-on's own page: plan, state, attachments and the service's info, without secrets, and says when the service cannot be reached", async () => {
    const created = await attache.client(owner.apiKey).post(`/apps/${app.name}/addons`).send({ plan: 'postgresql:essential-0' });
    expect(created.status).toBe(201);
    const pg = await attache.waitForAddon(owner.apiKey, created.body.id, (a) => a.state === 'provisioned', 60_000);
    const vars = await attache.configVars(owner.apiKey, app.name);
    const databaseUrl = new URL(vars.DATABASE_URL);
    const cookie = await signIn(attache, { email: owner.email, password: PASSWORD });
    const landing = await page(new URL(pg.web_url as string).pathname, cookie);
    expect(landing.status).toBe(200);
    expect(landing.text).toContain(`<h1>${created.body.name}</h1>`);
    expect(landing.text).toContain('<dd id="addon-plan">postgresql:essential-0</dd>');
    expect(landing.text).toContain('<dd id="addon-state">provisioned</dd>');
    expect(landing.text).toContain(`<li>${app.name}::DATABASE</li>`);
    expect(landing.text).toMatch(/<th scope="row">server_version<\/th><td>\d+/);
    expect(landing.text).toMatch(/<th scope="row">connections.limit<\/th><td>\d+<\/td>/);
    expect(landing.text).not.toContain(decodeURIComponent(databaseUrl.password));
    expect(landing.text).not.toContain(vars.DATABASE_URL);
    expect(landing.text).not.toContain('<form id="sso"');

    // With its cluster out of reach the page still shows the add-on, and says why the details are missing.
    const [{ id: backendId, port }] = (
      await attache.pg.query('SELECT b.id, b.port FROM postgres_backends b JOIN postgres_databases d ON d.backend_id = b.id WHERE d.addon_id = $1', [pg.id])
    ).rows;
    await attache.pg.query('UPDATE postgres_backends SET port = 1 WHERE id = $1', [backendId]);
    try {
      const unreachable = await page(new URL(pg.web_url as string).pathname, cookie);
      expect(unreachable.status).toBe(200);
      expect(unreachable.text).toContain('<dd id="addon-state">provisioned</dd>');
      expect(unreachable.text).toMatch(/<p id="service-details">PostgreSQL could not be reached just now/);
    } finally {
      await attache.pg.query('UPDATE postgres_backends SET port = $2 WHERE id = $1', [backendId, port]);
    }
  });
});

/** Behind https (a proxy terminating TLS), the cookies are Secure and __Host- prefixed; the Origin must be the https one. */
describe('browser sessions behind an https public URL', () => {
  const PUBLIC_URL = 'https://attache.example.test';
  let attache: AttacheHarness;

  beforeAll(async () => {
    attache = await AttacheHarness.start({ worker: false, env: { ATTACHE_PUBLIC_URL: PUBLIC_URL } });
  });

  afterAll(async () => {
    await attache?.stop();
  });

  it('sets Secure __Host- cookies and accepts forms from the public origin only', async () => {
    const direct = () => request(`http://127.0.0.1:${attache.config.http.port}`);
    const account = await attache.createAccount('https-owner');
    const form = await direct().get('/login');
    const formCookie = setCookie(form, '__Host-attache_sign_in')!;
    expect(formCookie.header).toMatch(/; Path=\/;.*HttpOnly.*Secure.*SameSite=Lax/);
    const fields = { _csrf: inputValue(form.text, '_csrf')!, api_key: account.apiKey };
    const signIn = (origin: string) => direct().post('/login').set('Cookie', formCookie.pair).set('Origin', origin).type('form').send(fields);

    expect((await signIn('http://attache.example.test')).status).toBe(403);
    const signedIn = await signIn(PUBLIC_URL);
    expect(signedIn.status).toBe(303);
    const session = setCookie(signedIn, '__Host-attache_session')!;
    expect(session.header).toMatch(/HttpOnly/);
    expect(session.header).toMatch(/Secure/);
    expect(session.header).not.toMatch(/Domain=/);
    expect((await direct().get('/').set('Cookie', session.pair)).text).toContain(account.email);
    // The unprefixed name means nothing here.
    expect((await direct().get('/').set('Cookie', session.pair.replace('__Host-', ''))).status).toBe(303);
  });
});
