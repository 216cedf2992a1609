import { ScriptedVendor } from '@app/testing';
import { AttacheHarness } from '../support/attache-harness';

interface ReportedRecord {
  id: string;
  addon: { id: string };
  dimension: string;
  quantity: number;
  timestamp: string;
  received_at: string;
  duplicate: boolean;
}

const meter = (dimension: string, cents_per_unit = 1, included = 0) => ({ dimension, unit: dimension.replace(/_/g, ' '), cents_per_unit, included });

/**
 * Vendor-reported usage of metered plans (DESIGN §6): vendors report records with the partner
 * token of an add-on at POST /addons/{id}/usage. The rules' edge cases (month boundaries, plan
 * changes, whole seconds) are covered with a fixed clock in
 * libs/persistence/src/repositories/usage-record.typeorm-repository.int-spec.ts; this is the HTTP
 * surface, the tokens and the database rows.
 */
describe('metered usage reported by vendors', () => {
  let attache: AttacheHarness;
  let vendor: ScriptedVendor;
  let slug: string;
  let vendorKey: string;
  let clientSecret: string;
  let dev: { apiKey: string };

  beforeAll(async () => {
    attache = await AttacheHarness.start();
    ({ vendor, slug, clientSecret, apiKey: vendorKey } = await attache.startVendor('meter', {
      plans: [
        { name: 'basic', human_name: 'Basic', price: { cents: 500, unit: 'month' }, default: true, state: 'public', meters: [meter('api_calls', 1, 1000)] },
        { name: 'pro', human_name: 'Pro', price: { cents: 2500, unit: 'month' }, state: 'public', meters: [meter('api_calls'), meter('storage_gb', 10)] },
      ],
    }));
    dev = await attache.createAccount('metered');
  });

  afterAll(async () => {
    await attache?.stop();
  });

  /** A provisioned add-on of `plan` and the partner token its vendor got for it (grant exchange). */
  const provision = async (plan = `${slug}:basic`, as: { vendor: ScriptedVendor; clientSecret: string } = { vendor, clientSecret }) => {
    const app = await attache.createApp(dev.apiKey);
    const created = await attache.client(dev.apiKey).post(`/apps/${app.name}/addons`).send({ plan });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    await attache.waitForAddon(dev.apiKey, id, (a) => a.state === 'provisioned');
    const code: string = as.vendor.callsFor(id)[0].body.oauth_grant.code;
    const token = await attache.http().post('/oauth/token').type('form').send({ grant_type: 'authorization_code', code, client_secret: as.clientSecret });
    expect(token.status).toBe(200);
    return { id, token: token.body.access_token as string };
  };
  const report = (addonId: string, token: string, body: unknown) => attache.http().post(`/addons/${addonId}/usage`).set('Authorization', `Bearer ${token}`).send(body as object);
  const rows = async (addonId: string) =>
    (await attache.pg.query('SELECT record_id, dimension, quantity::int AS quantity, occurred_at FROM usage_records WHERE addon_id = $1 ORDER BY record_id', [addonId])).rows;
  const now = () => new Date().toISOString();

  it('takes one record, stamps it when received, and stores it for the add-on’s service', async () => {
    const { id, token } = await provision();
    const timestamp = now();
    const response = await report(id, token, { id: 'rec-1', dimension: 'api_calls', quantity: 42, timestamp });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      records: [{ id: 'rec-1', addon: { id }, dimension: 'api_calls', quantity: 42, timestamp, received_at: expect.any(String), duplicate: false }],
      accepted: 1,
      duplicates: 0,
    });
    const receivedAt = Date.parse(response.body.records[0].received_at);
    expect(Math.abs(receivedAt - Date.now())).toBeLessThan(10_000);
    expect(await rows(id)).toEqual([{ record_id: 'rec-1', dimension: 'api_calls', quantity: 42, occurred_at: new Date(timestamp) }]);
  });

  it('answers a repeated record id with the record first stored, whatever the repeat says', async () => {
    const { id, token } = await provision();
    const original = { id: 'rec-dup', dimension: 'api_calls', quantity: 5, timestamp: now() };
    const first = await report(id, token, original);
    expect(first.status).toBe(201);
    const stored: ReportedRecord = first.body.records[0];

    const same = await report(id, token, original);
    expect(same.status).toBe(201);
    expect(same.body).toEqual({ records: [{ ...stored, duplicate: true }], accepted: 0, duplicates: 1 });

    const different = await report(id, token, { records: [{ ...original, quantity: 500 }, { id: 'rec-new', dimension: 'api_calls', quantity: 1, timestamp: now() }] });
    expect(different.status).toBe(201);
    expect(different.body.records[0]).toEqual({ ...stored, duplicate: true });
    expect(different.body.records[1]).toMatchObject({ id: 'rec-new', duplicate: false });
    expect(different.body).toMatchObject({ accepted: 1, duplicates: 1 });
    expect((await rows(id)).map((r) => [r.record_id, r.quantity])).toEqual([
      ['rec-dup', 5],
      ['rec-new', 1],
    ]);
  });

  it('takes batches of a thousand records, one statement each', async () => {
    const { id, token } = await provision(`${slug}:pro`);
    const timestamp = now();
    const batch = (n: number) => ({
      records: Array.from({ length: 1000 }, (_, i) => ({ id: `b${n}-${i}`, dimension: i % 2 ? 'api_calls' : 'storage_gb', quantity: i, timestamp })),
    });
    // A thousand records with 128-character ids fit the usage route's body limit (1 MB; the API's is 100 kB).
    const longIds = { records: batch(99).records.map((r, i) => ({ ...r, id: `${'x'.repeat(120)}-${String(i).padStart(4, '0')}` })) };
    expect(JSON.stringify(longIds).length).toBeLessThan(1024 * 1024);
    expect((await report(id, token, longIds)).status).toBe(201);

    const first = await report(id, token, batch(0));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ accepted: 1000, duplicates: 0 });
    expect(first.body.records[999]).toMatchObject({ id: 'b0-999', dimension: 'api_calls', quantity: 999, duplicate: false });

    // Concurrent batches (bench/billing.ts measures their throughput).
    const results = await Promise.all(
      [0, 1].map(async (lane) => {
        const statuses: number[] = [];
        for (let n = 1; n <= 5; n++) statuses.push((await report(id, token, batch(lane * 5 + n))).status);
        return statuses;
      }),
    );
    expect(results.flat()).toEqual(Array(10).fill(201));
    expect(Number((await attache.pg.query('SELECT count(*) FROM usage_records WHERE addon_id = $1', [id])).rows[0].count)).toBe(12_000);
  });

  it('refuses a dimension the add-on’s plan does not meter, naming those it does', async () => {
    const { id, token } = await provision();
    const response = await report(id, token, { id: 'rec-x', dimension: 'storage_gb', quantity: 1, timestamp: now() });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      id: 'unknown_dimension',
      message: expect.stringContaining('its meters are api_calls'),
      errors: [{ index: 0, id: 'unknown_dimension', record_id: 'rec-x', message: response.body.message }],
    });
    expect(response.body.message).toMatch(/^"storage_gb" is not a meter of the plan basic/);
    expect(await rows(id)).toEqual([]);
  });

  it('refuses a whole batch if one record is invalid, listing each refused record', async () => {
    const { id, token } = await provision();
    const response = await report(id, token, {
      records: [
        { id: 'ok-1', dimension: 'api_calls', quantity: 1, timestamp: now() },
        { id: 'bad-1', dimension: 'bandwidth', quantity: 1, timestamp: now() },
        { id: 'ok-2', dimension: 'api_calls', quantity: 1, timestamp: now() },
        { id: 'bad-2', dimension: 'api_calls', quantity: 1, timestamp: new Date(Date.now() + 10 * 60_000).toISOString() },
      ],
    });
    expect(response.status).toBe(422);
    expect(response.body.id).toBe('invalid_usage_records');
    expect(response.body.message).toMatch(/^2 of 4 usage records are invalid, so none was stored\./);
    expect(response.body.errors.map((e: { index: number; id: string; record_id: string }) => [e.index, e.id, e.record_id])).toEqual([
      [1, 'unknown_dimension', 'bad-1'],
      [3, 'timestamp_in_future', 'bad-2'],
    ]);
    expect(await rows(id)).toEqual([]);

    // Malformed records are listed the same way.
    const shapes = await report(id, token, {
      records: [
        { id: 'ok-1', dimension: 'api_calls', quantity: -1, timestamp: now() },
        { dimension: 'api_calls', quantity: 1, timestamp: now() },
        { id: 'ok-3', dimension: 'api_calls', quantity: 1, timestamp: 'yesterday' },
        { id: 'ok-4', dimension: 7, quantity: 1, timestamp: now() },
      ],
    });
    expect(shapes.status).toBe(422);
    expect(shapes.body.errors.map((e: { index: number; id: string; record_id: string | null }) => [e.index, e.id, e.record_id])).toEqual([
      [0, 'invalid_quantity', 'ok-1'],
      [1, 'invalid_record_id', null],
      [2, 'invalid_timestamp', 'ok-3'],
      [3, 'invalid_dimension', 'ok-4'],
    ]);
    // The envelope is checked first: 422 invalid_params.
    for (const body of [{ records: [] }, { records: ['rec'] }, { records: 'rec' }]) {
      const envelope = await report(id, token, body);
      expect(envelope.status).toBe(422);
      expect(envelope.body).toEqual({ id: 'invalid_params', message: expect.stringContaining('records') });
    }
    const tooMany = await report(id, token, { records: Array.from({ length: 1001 }, (_, i) => ({ id: `${i}`, dimension: 'api_calls', quantity: 1, timestamp: now() })) });
    // 1001 records may exceed the body limit before validation; either way nothing is stored.
    expect([413, 422]).toContain(tooMany.status);
    expect((await report(id, token, { id: 'no-time', dimension: 'api_calls', quantity: 1, timestamp: 'yesterday' })).status).toBe(422);
    expect(await rows(id)).toEqual([]);
  });

  it('takes last month’s usage but not older: a month stays open until the end of the next', async () => {
    const { id, token } = await provision();
    // As if the add-on had been provisioned a hundred days ago.
    await attache.pg.query(`UPDATE lifecycle_events SET occurred_at = now() - interval '100 days' WHERE addon_id = $1 AND type = 'addon.provision_requested'`, [id]);
    const today = new Date();
    const lastMonth = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 1, 15)).toISOString();
    const twoMonthsAgo = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - 2, 15));

    expect((await report(id, token, { id: 'late', dimension: 'api_calls', quantity: 3, timestamp: lastMonth })).status).toBe(201);
    const closed = await report(id, token, { id: 'too-late', dimension: 'api_calls', quantity: 3, timestamp: twoMonthsAgo.toISOString() });
    expect(closed.status).toBe(422);
    expect(closed.body.id).toBe('period_closed');
    const month = twoMonthsAgo.toISOString().slice(0, 7);
    expect(closed.body.message).toContain(`The usage of ${month} can no longer be reported`);
    expect(closed.body.message).toContain(`open until ${new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + 1, 1)).toISOString()}`);
    expect((await rows(id)).map((r) => r.record_id)).toEqual(['late']);
  });

  it('refuses usage after the deprovisioning request, and takes usage from before it until the add-on is gone', async () => {
    const { id, token } = await provision();
    const before = now();
    await new Promise((r) => setTimeout(r, 1_100));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    vendor.onDeprovision(async () => {
      await held;
      return { status: 204 };
    });
    try {
      const destroyed = await attache.client(dev.apiKey).delete(`/addons/${id}`);
      expect(destroyed.status).toBe(200);
      expect(destroyed.body.state).toBe('deprovisioning');

      const after = await report(id, token, { id: 'after', dimension: 'api_calls', quantity: 1, timestamp: now() });
      expect(after.status).toBe(422);
      expect(after.body.id).toBe('outside_addon_lifetime');
      expect(after.body.message).toMatch(/to its deprovisioning request at /);
      // Usage from before the request still comes in while the vendor winds the add-on down.
      expect((await report(id, token, { id: 'before', dimension: 'api_calls', quantity: 1, timestamp: before })).status).toBe(201);
    } finally {
      release();
      vendor.restoreDefaults();
    }
    await attache.waitForAddonGone(dev.apiKey, id);
    // Once deprovisioned the add-on's tokens are revoked; the vendor's own credentials still report
    // usage from before the end, and still not after it.
    expect((await report(id, token, { id: 'gone', dimension: 'api_calls', quantity: 1, timestamp: before })).status).toBe(401);
    const asVendor = (body: object) => attache.client(vendorKey).post(`/api/v3/addons/${slug}/addons/${id}/usage`).send(body);
    expect((await asVendor({ id: 'reported-after-the-end', dimension: 'api_calls', quantity: 2, timestamp: before })).status).toBe(201);
    expect((await asVendor({ id: 'later', dimension: 'api_calls', quantity: 2, timestamp: now() })).body.id).toBe('outside_addon_lifetime');
    expect((await attache.client(dev.apiKey).post(`/api/v3/addons/${slug}/addons/${id}/usage`).send({ id: 'x', dimension: 'api_calls', quantity: 1, timestamp: before })).status).toBe(403);
    expect((await rows(id)).map((r) => r.record_id).sort()).toEqual(['before', 'reported-after-the-end']);
  });

  it('refuses another add-on’s token, another vendor’s token, a developer key and no credentials', async () => {
    const mine = await provision();
    const sibling = await provision();
    const other = await attache.startVendor('meter-other', {
      plans: [{ name: 'basic', human_name: 'Basic', price: { cents: 100, unit: 'month' }, default: true, state: 'public', meters: [meter('api_calls')] }],
    });
    const foreign = await provision(`${other.slug}:basic`, other);
    const record = { id: `rec-${mine.id}`, dimension: 'api_calls', quantity: 1, timestamp: now() };

    for (const token of [sibling.token, foreign.token]) {
      const refused = await report(mine.id, token, record);
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ id: 'forbidden', message: 'This token is not valid for that add-on.' });
    }
    expect((await report(mine.id, dev.apiKey, record)).status).toBe(403);
    expect((await attache.http().post(`/addons/${mine.id}/usage`).send(record)).status).toBe(401);
    expect(await rows(mine.id)).toEqual([]);

    // Each add-on's own token works. Record ids are unique per vendor: another vendor may use the
    // same one, while the same vendor reusing it for another add-on repeats the stored record.
    const stored = await report(mine.id, mine.token, record);
    expect(stored.body.records[0]).toMatchObject({ addon: { id: mine.id }, duplicate: false });
    expect((await report(foreign.id, foreign.token, record)).body.records[0]).toMatchObject({ addon: { id: foreign.id }, duplicate: false });
    expect((await report(sibling.id, sibling.token, record)).body.records).toEqual([{ ...stored.body.records[0], duplicate: true }]);
    expect(await rows(sibling.id)).toEqual([]);
  });
});
