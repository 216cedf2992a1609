import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { AttacheHarness } from '../support/attache-harness';

const BIN = join(__dirname, '..', '..', 'bin', 'attache.js');

/**
 * Invoices and payouts over the API and the admin CLI (DESIGN §6). The add-on's lifecycle is moved
 * into last month in the log, so that month can be invoiced now; the amounts themselves are
 * covered with a fixed clock in libs/persistence/src/repositories/invoicing.int-spec.ts.
 */
describe('invoices and payouts', () => {
  let attache: AttacheHarness;
  let slug: string;
  let vendorKey: string;

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    ({ slug, apiKey: vendorKey } = await attache.startVendor('invoiced'));
  });

  afterAll(async () => {
    await attache?.stop();
  });

  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env = { PATH: process.env.PATH ?? '', ...attache.env, NODE_ENV: 'test' };
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  }

  it('invoices last month once, shows the invoice to its owner only (JSON and CSV), and pays the vendor its net', async () => {
    const now = new Date();
    const lastMonthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const month = lastMonthStart.toISOString().slice(0, 7);
    const days = (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) - lastMonthStart.getTime()) / 86_400_000;

    const dev = await attache.createAccount('invoiced');
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan: `${slug}:basic` });
    await attache.waitForAddon(dev.apiKey, created.body.id, (a) => a.state === 'provisioned');
    // Provisioned on the first of last month, destroyed on the 11th: ten days of a 500-cent plan.
    const first = lastMonthStart;
    const eleventh = new Date(lastMonthStart.getTime() + 10 * 86_400_000);
    await attache.pg.query(`UPDATE lifecycle_events SET occurred_at = $2 WHERE addon_id = $1 AND type = 'addon.provision_requested'`, [created.body.id, first]);
    await attache.pg.query(`UPDATE addons SET created_at = $2 WHERE id = $1`, [created.body.id, first]);
    expect((await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${created.body.id}`)).status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, created.body.id);
    await attache.pg.query(`UPDATE lifecycle_events SET occurred_at = $2 WHERE addon_id = $1 AND type = 'addon.deprovision_requested'`, [created.body.id, eleventh]);
    await attache.pg.query(`UPDATE addons SET deprovision_requested_at = $2 WHERE id = $1`, [created.body.id, eleventh]);
    const expected = Math.floor((2 * 500 * 10 + days) / (2 * days));

    // The worker invoiced last month when it started, before this add-on's life was moved into it.
    await attache.pg.query('DELETE FROM billing_runs');
    const run = await cli(['billing:run', '--month', month, '--force']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`${month}: 1 invoices written`);
    expect((await cli(['billing:run', '--month', month, '--force'])).stdout).toContain(`${month}: 0 invoices written`);

    const list = await attache.client(dev.apiKey).get('/account/invoices');
    expect(list.status).toBe(200);
    expect(list.body).toEqual([expect.objectContaining({ month, state: 'finalized', total_cents: expected, owner: { kind: 'account', id: dev.id } })]);
    const number = list.body[0].number as string;
    expect(list.headers['accept-ranges']).toBe('month, number');
    const ranged = await attache.client(dev.apiKey).get('/account/invoices').set('Range', `month ${month}..; max=1`);
    expect({ status: ranged.status, numbers: ranged.body.map((i: { number: string }) => i.number) }).toEqual({ status: 200, numbers: [number] });

    const shown = await attache.client(dev.apiKey).get(`/account/invoices/${number}`);
    expect(shown.body.lines).toEqual([
      expect.objectContaining({
        position: 1,
        kind: 'time',
        app: { id: app.id, name: app.name },
        addon: { id: created.body.id, name: created.body.name },
        plan: expect.objectContaining({ name: `${slug}:basic` }),
        seconds: 10 * 86_400,
        unit_price_cents: 500,
        cents: expected,
      }),
    ]);
    const csv = await attache.client(dev.apiKey).get(`/account/invoices/${number}`).set('Accept', 'text/csv');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const rows = csv.text.trim().split('\r\n');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^invoice,entity_kind,entity_id,month,position,kind,app,addon,plan/);
    expect(rows[1]).toContain(`${number},account,${dev.id},${month},1,time,${app.name},${created.body.name},${slug}:basic`);
    expect(rows[1].endsWith(`,500,${expected}`)).toBe(true);

    const other = await attache.createAccount('not-the-payer');
    expect((await attache.client(other.apiKey).get(`/account/invoices/${number}`)).status).toBe(404);
    expect((await attache.client(other.apiKey).get('/account/invoices')).body).toEqual([]);

    const finance = await cli(['billing:invoices', '--month', month, '--format', 'csv']);
    expect(finance.stdout.trim().split('\r\n')).toEqual(rows);

    const payouts = await attache.client(vendorKey).get(`/api/v3/addons/${slug}/payouts/${month}`);
    expect(payouts.status).toBe(200);
    const share = Math.floor((expected * 2000 + 5000) / 10000);
    expect(payouts.body).toMatchObject({ month, platform_share_percent: 20, gross_cents: expected, platform_share_cents: share, net_cents: expected - share });
    expect((await attache.client(dev.apiKey).get(`/api/v3/addons/${slug}/payouts/${month}`)).status).toBe(403);
    expect((await attache.client(vendorKey).get(`/api/v3/addons/${slug}/payouts/not-a-month`)).body).toMatchObject({ id: 'invalid_params' });
  });
});
