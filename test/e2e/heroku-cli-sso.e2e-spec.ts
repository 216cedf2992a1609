import { herokuCliSuite } from '../support/heroku-cli-suite';

/** `heroku addons:open` (the real CLI, npm heroku@11) prints or opens the web_url that leads to Attache's landing page (docs/sso.md). */
describe('heroku addons:open against Attache', () => {
  const suite = herokuCliSuite('cli-sso');
  const { heroku } = suite;

  it('prints the web_url of the attachment on the app it is asked from', async () => {
    const { attache, apiKey } = suite;
    const { slug } = await attache.startVendor('open');
    const app = await suite.newApp('open');
    const consumer = await suite.newApp('open-b');
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send({ plan: `${slug}:basic`, name: `${app}-notes` });
    expect(created.status).toBe(201);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned');
    expect((await attache.client(apiKey).post('/addon-attachments').send({ addon: created.body.id, app: consumer, name: 'SHARED' })).status).toBe(201);
    const ids = Object.fromEntries(
      await Promise.all([app, consumer].map(async (name) => [name, (await attache.client(apiKey).get(`/apps/${name}`)).body.id as string])),
    ) as Record<string, string>;

    const owned = await heroku('addons:open', `${app}-notes`, '-a', app, '--show-url');
    expect(owned.trim()).toBe(`${attache.url}/sso/apps/${ids[app]}/addons/${created.body.id}`);
    const shared = await heroku('addons:open', 'SHARED', '-a', consumer, '--show-url');
    expect(shared.trim()).toBe(`${attache.url}/sso/apps/${ids[consumer]}/addons/${created.body.id}`);
    // Without --show-url it hands the same URL to the browser ($BROWSER is a no-op in the runner).
    expect(await heroku('addons:open', `${app}-notes`, '-a', app)).toContain(`Opening ${attache.url}/sso/apps/${ids[app]}/addons/${created.body.id}`);
  });
});
