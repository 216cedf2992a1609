import { AttacheHarness } from '../support/attache-harness';
import { WorkerProcess } from '../support/worker-process';

/** Enough entities for several batches of 500, so a kill lands between them. */
const ENTITIES = 3_000;

/**
 * The invoice run under a real crash: the worker (`node bin/run.js worker`) starts invoicing last
 * month on its own (its `billing-invoices` job runs when it starts) and is SIGKILLed once some
 * invoices exist but not all; a second worker finishes. Every entity ends with exactly one
 * invoice, with the right total, and the month is marked done only at the end.
 */
describe('worker crash during an invoice run', () => {
  let attache: AttacheHarness;
  const workers: WorkerProcess[] = [];
  let month: string;
  let expectedCents: number;

  const count = async (sql: string) => Number((await attache.pg.query(sql)).rows[0].n);

  beforeAll(async () => {
    attache = await AttacheHarness.start({ worker: false });
    const { slug } = await attache.startVendor('crashbill');
    const now = new Date();
    const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    month = start.toISOString().slice(0, 7);
    // Each account's one add-on lived the whole of last month: the plan's monthly price.
    expectedCents = 500;
    // Accounts, each with an app and an add-on on `slug:basic` provisioned before last month.
    await attache.pg.query(
      `WITH plan AS (SELECT p.id AS plan_id, p.service_id FROM plans p JOIN addon_services s ON s.id = p.service_id WHERE s.slug = $1 AND p.name = 'basic'),
            region AS (SELECT id FROM regions ORDER BY name LIMIT 1),
            n AS (SELECT g, gen_random_uuid() AS account, gen_random_uuid() AS app, gen_random_uuid() AS addon FROM generate_series(1, $2::int) g),
            a AS (INSERT INTO accounts (id, email) SELECT account, 'crash-' || g || '-' || account || '@example.test' FROM n),
            p AS (INSERT INTO apps (id, name, owner_account_id, region_id, created_at, updated_at)
                  SELECT app, 'crash-' || substr(replace(app::text, '-', ''), 1, 20), account, (SELECT id FROM region), $3, $3 FROM n),
            d AS (INSERT INTO addons (id, name, service_id, plan_id, app_id, region_id, state, billed_price_cents, billed_price_unit, created_at, updated_at, provisioned_at)
                  SELECT addon, 'crash-' || replace(addon::text, '-', ''), plan.service_id, plan.plan_id, app, (SELECT id FROM region), 'provisioned', 500, 'month', $3, $3, $3
                    FROM n, plan)
       INSERT INTO lifecycle_events (type, addon_id, app_id, occurred_at, data)
       SELECT 'addon.provision_requested', addon, app, $3, jsonb_build_object('plan_id', plan.plan_id, 'price_cents', 500) FROM n, plan`,
      [slug, ENTITIES, new Date(start.getTime() - 86_400_000)],
    );
  }, 60_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop().catch(() => undefined);
    await attache?.stop();
  });

  it('writes every invoice exactly once across the crash', async () => {
    const env = { ...attache.env, LOG_LEVEL: 'warn', ATTACHE_BILLING_GRACE_MS: '0' };
    const first = await WorkerProcess.start({ env });
    workers.push(first);
    const invoices = () => count(`SELECT count(*) AS n FROM invoices WHERE month = '${month}'`);
    const deadline = Date.now() + 60_000;
    let seen = 0;
    while (Date.now() < deadline) {
      seen = await invoices();
      if (seen > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await first.kill();
    const atKill = await invoices();
    expect(atKill).toBeGreaterThan(0);
    expect(atKill).toBeLessThan(ENTITIES);
    expect(await count(`SELECT count(*) AS n FROM billing_runs WHERE month = '${month}'`)).toBe(0);

    const second = await WorkerProcess.start({ env });
    workers.push(second);
    const done = Date.now() + 60_000;
    while (Date.now() < done && (await count(`SELECT count(*) AS n FROM billing_runs WHERE month = '${month}'`)) === 0) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await invoices()).toBe(ENTITIES);
    expect(await count(`SELECT count(DISTINCT (entity_kind, entity_id)) AS n FROM invoices WHERE month = '${month}'`)).toBe(ENTITIES);
    expect(await count(`SELECT count(*) AS n FROM invoices WHERE month = '${month}' AND total_cents <> ${expectedCents}`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.month = '${month}'`)).toBe(ENTITIES);
  }, 150_000);
});
