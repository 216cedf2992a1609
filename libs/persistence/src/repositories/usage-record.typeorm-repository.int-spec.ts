import { newId } from '@app/common';
import { Addon, LifecycleEvent, NewUsageRecord, Plan, UsageIngestion, UsageRecordsInvalidError } from '@app/domain';
import { useAppStoreFixture } from '../../../../test/support/store-fixtures';
import { FixedClock } from '../../../../test/support/fixed-clock';

const at = (iso: string) => new Date(iso);

describe('TypeOrmUsageRecords', () => {
  const fixture = useAppStoreFixture({
    poolSize: 4,
    emailStem: 'usage-records',
    service: {
      slug: `metered-${newId().slice(0, 8)}`,
      humanName: 'Metered',
      provider: 'http',
      configVarsPrefix: 'METERED',
      defaultAlias: 'METERED',
      configVars: ['METERED_URL'],
      baseUrl: 'http://127.0.0.1:1',
    },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 1000 },
    addonStem: 'usage-records',
  });

  const record = (addon: Addon, recordId: string, iso: string, quantity = 1, dimension = 'api_calls'): NewUsageRecord => ({
    serviceId: fixture.service.id,
    recordId,
    addonId: addon.id,
    dimension,
    quantity,
    occurredAt: at(iso),
  });

  it('stores a batch in one statement, skipping ids already stored or repeated, and says which were new', async () => {
    const addon = await fixture.newAddon();
    const id = newId();
    const first = await fixture.store.usage.addBatch([record(addon, `${id}-1`, '2026-11-01T10:00:00Z', 5), record(addon, `${id}-2`, '2026-11-01T11:00:00Z', 7)]);
    expect(first.map((r) => [r.recordId, r.quantity])).toEqual([
      [`${id}-1`, 5],
      [`${id}-2`, 7],
    ]);
    expect(first[0]).toMatchObject({ serviceId: fixture.service.id, addonId: addon.id, dimension: 'api_calls', occurredAt: at('2026-11-01T10:00:00Z') });
    expect(first[0].receivedAt).toBeInstanceOf(Date);

    // A repeat with other content is skipped; of two records with one new id, the first is stored.
    const second = await fixture.store.usage.addBatch([
      record(addon, `${id}-1`, '2026-11-02T10:00:00Z', 999),
      record(addon, `${id}-3`, '2026-11-03T10:00:00Z', 3),
      record(addon, `${id}-3`, '2026-11-04T10:00:00Z', 4),
    ]);
    expect(second.map((r) => [r.recordId, r.quantity])).toEqual([[`${id}-3`, 3]]);

    const stored = await fixture.store.usage.findByIds(fixture.service.id, [`${id}-1`, `${id}-3`, `${id}-missing`]);
    expect(stored.map((r) => [r.recordId, r.quantity, r.occurredAt.toISOString()]).sort()).toEqual([
      [`${id}-1`, 5, '2026-11-01T10:00:00.000Z'],
      [`${id}-3`, 3, '2026-11-03T10:00:00.000Z'],
    ]);
    expect(await fixture.store.usage.findByIds(newId(), [`${id}-1`])).toEqual([]);
    expect(await fixture.store.usage.addBatch([])).toEqual([]);
  });

  it('keeps record ids per service: another service may use the same id', async () => {
    const addon = await fixture.newAddon();
    const otherService = await fixture.store.services.save({ ...fixture.service, id: newId(), slug: `other-${newId().slice(0, 8)}` });
    const recordId = `shared-${newId()}`;
    expect(await fixture.store.usage.addBatch([record(addon, recordId, '2026-11-01T00:00:00Z')])).toHaveLength(1);
    expect(await fixture.store.usage.addBatch([{ ...record(addon, recordId, '2026-11-01T00:00:00Z'), serviceId: otherService.id }])).toHaveLength(1);
  });

  it('stores each id once when batches holding it in different orders race, without deadlocking', async () => {
    const addon = await fixture.newAddon();
    for (let round = 0; round < 5; round++) {
      const ids = Array.from({ length: 2000 }, (_, i) => `race-${round}-${i}-${newId().slice(0, 8)}`);
      const shuffled = () => ids.map((id) => ({ id, key: Math.random() })).sort((p, q) => p.key - q.key).map(({ id }) => record(addon, id, '2026-11-01T00:00:00Z'));
      const added = await Promise.all([0, 1, 2, 3].map(() => fixture.store.usage.addBatch(shuffled())));
      expect(added.reduce((sum, rows) => sum + rows.length, 0)).toBe(ids.length);
    }
  });

  it('lets the database refuse a negative quantity, an unknown add-on and an over-long id', async () => {
    const addon = await fixture.newAddon();
    await expect(fixture.store.usage.addBatch([record(addon, newId(), '2026-11-01T00:00:00Z', -1)])).rejects.toThrow(/check constraint/);
    await expect(fixture.store.usage.addBatch([{ ...record(addon, newId(), '2026-11-01T00:00:00Z'), addonId: newId() }])).rejects.toThrow(/foreign key/);
    await expect(fixture.store.usage.addBatch([record(addon, 'x'.repeat(129), '2026-11-01T00:00:00Z')])).rejects.toThrow(/check constraint/);
  });

  it('stamps records with the start of the transaction that stores them', async () => {
    const addon = await fixture.newAddon();
    const [a, b] = await fixture.store.transaction(async (tx) => {
      const one = await tx.usage.addBatch([record(addon, newId(), '2026-11-01T00:00:00Z')]);
      await new Promise((r) => setTimeout(r, 20));
      const two = await tx.usage.addBatch([record(addon, newId(), '2026-11-01T00:00:00Z')]);
      return [one[0], two[0]];
    });
    expect(a.receivedAt).toEqual(b.receivedAt);
  });

  it('sums per add-on, dimension and UTC month in the database, within the occurred and received windows', async () => {
    const [x, y] = [await fixture.newAddon(), await fixture.newAddon()];
    const earlier = await fixture.store.usage.addBatch([
      record(x, newId(), '2026-10-31T23:59:59.999Z', 2 ** 52),
      record(x, newId(), '2026-10-15T00:00:00Z', 2 ** 52),
      record(x, newId(), '2026-11-01T00:00:00Z', 10),
      record(x, newId(), '2026-11-30T23:59:59Z', 5, 'storage_gb'),
      record(y, newId(), '2026-11-10T00:00:00Z', 7),
      record(y, newId(), '2026-12-01T00:00:00Z', 100),
    ]);
    await new Promise((r) => setTimeout(r, 20));
    const later = await fixture.store.usage.addBatch([record(x, newId(), '2026-11-02T00:00:00Z', 1)]);
    const watermark = later[0].receivedAt;
    expect(watermark.getTime()).toBeGreaterThan(earlier[0].receivedAt.getTime());

    const all = await fixture.store.usage.sumsFor([x.id, y.id, 'not-a-uuid'], at('2026-10-01T00:00:00Z'), at('2026-12-01T00:00:00Z'));
    const expected = [
      { addonId: x.id, dimension: 'api_calls', month: '2026-10', quantity: 2n ** 53n },
      { addonId: x.id, dimension: 'api_calls', month: '2026-11', quantity: 11n },
      { addonId: x.id, dimension: 'storage_gb', month: '2026-11', quantity: 5n },
      { addonId: y.id, dimension: 'api_calls', month: '2026-11', quantity: 7n },
    ];
    const byAddon = (sums: typeof all) => [...sums].sort((p, q) => (p.addonId === q.addonId ? 0 : p.addonId === x.id ? -1 : 1));
    expect(byAddon(all)).toEqual(expected);

    // What an invoice took (received before its watermark), and what came after it.
    const invoiced = await fixture.store.usage.sumsFor([x.id], at('2026-11-01T00:00:00Z'), at('2026-12-01T00:00:00Z'), watermark);
    expect(invoiced.map((s) => [s.dimension, s.quantity])).toEqual([
      ['api_calls', 10n],
      ['storage_gb', 5n],
    ]);
    const late = await fixture.store.usage.sumsFor([x.id], at('2026-11-01T00:00:00Z'), at('2026-12-01T00:00:00Z'), undefined, watermark);
    expect(late).toEqual([{ addonId: x.id, dimension: 'api_calls', month: '2026-11', quantity: 1n }]);
    expect(await fixture.store.usage.sumsFor([], at('2026-11-01T00:00:00Z'), at('2026-12-01T00:00:00Z'))).toEqual([]);
  });
});

/**
 * The ingestion rules on a real store and lifecycle log, the clock held at 2026-11-20 12:00 UTC:
 * November and October are open, September closed.
 */
describe('UsageIngestion on a real store', () => {
  const fixture = useAppStoreFixture({
    poolSize: 4,
    emailStem: 'usage-ingestion',
    service: {
      slug: `ingest-${newId().slice(0, 8)}`,
      humanName: 'Ingest',
      provider: 'http',
      configVarsPrefix: 'INGEST',
      defaultAlias: 'INGEST',
      configVars: ['INGEST_URL'],
      baseUrl: 'http://127.0.0.1:1',
    },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 1000 },
    addonStem: 'usage-ingestion',
  });
  const clock = new FixedClock(at('2026-11-20T12:00:00Z'));
  let ingestion: UsageIngestion;
  let metered: Plan;
  let pro: Plan;

  beforeAll(async () => {
    ingestion = new UsageIngestion(fixture.store, clock);
    const meter = (dimension: string) => ({ dimension, unit: 'unit', cents_per_unit: 1, included: 0 });
    metered = await fixture.store.plans.save({ ...fixture.plan, id: newId(), name: 'metered', isDefault: false, meters: [meter('api_calls')] });
    pro = await fixture.store.plans.save({ ...fixture.plan, id: newId(), name: 'pro', isDefault: false, meters: [meter('api_calls'), meter('storage_gb')] });
  });

  const event = (a: Addon, type: LifecycleEvent['type'], iso: string, data: Record<string, unknown> = {}) =>
    fixture.store.events.append({ type, addonId: a.id, appId: a.appId, occurredAt: at(iso), data });
  /** On `metered` from 2026-09-15, on `pro` from 2026-11-10. */
  const addonWithHistory = async () => {
    const addon = await fixture.newAddon();
    await event(addon, 'addon.provision_requested', '2026-09-15T00:00:00Z', { plan_id: metered.id, price_cents: 1000 });
    await event(addon, 'addon.plan_changed', '2026-11-10T00:00:00Z', { from_plan_id: metered.id, to_plan_id: pro.id, price_cents: 1000 });
    return addon;
  };
  const input = (id: string, timestamp: string, dimension = 'api_calls', quantity = 1) => ({ id, dimension, quantity, timestamp });
  const refusal = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageRecordsInvalidError);
    return error as UsageRecordsInvalidError;
  };

  it('takes a dimension of the plan the add-on was on at the record’s time', async () => {
    const addon = await addonWithHistory();
    const id = newId();
    const result = await ingestion.report(addon.id, [
      input(`${id}-1`, '2026-10-20T00:00:00Z'),
      input(`${id}-2`, '2026-11-15T00:00:00+01:00', 'storage_gb', 40),
      input(`${id}-3`, '2026-11-20T12:04:59Z'),
    ]);
    expect(result.accepted).toBe(3);
    expect(result.duplicates).toBe(0);
    expect(result.records.map((r) => [r.record.recordId, r.record.dimension, r.record.occurredAt.toISOString(), r.duplicate])).toEqual([
      [`${id}-1`, 'api_calls', '2026-10-20T00:00:00.000Z', false],
      [`${id}-2`, 'storage_gb', '2026-11-14T23:00:00.000Z', false],
      [`${id}-3`, 'api_calls', '2026-11-20T12:04:59.000Z', false],
    ]);

    const refused = await refusal(ingestion.report(addon.id, [input(newId(), '2026-11-09T23:59:59Z', 'storage_gb')]));
    expect(refused.code).toBe('unknown_dimension');
    expect(refused.message).toBe('"storage_gb" is not a meter of the plan metered the add-on was on at 2026-11-09T23:59:59.000Z: its meters are api_calls.');
  });

  it('refuses a whole report if one record breaks a rule, saying which and why', async () => {
    const addon = await addonWithHistory();
    const id = newId();
    const refused = await refusal(
      ingestion.report(addon.id, [
        input(`${id}-ok`, '2026-11-11T00:00:00Z'),
        input(`${id}-old`, '2026-09-30T23:59:59Z'),
        input(`${id}-early`, '2026-10-01T00:00:00Z', 'nope'),
        input(`${id}-future`, '2026-11-20T12:05:01Z'),
        input(`${id}-feb`, '2026-02-30T00:00:00Z'),
        input(`${id}-zone`, '2026-11-11T00:00:00'),
        { ...input(`${id}-q`, '2026-11-11T00:00:00Z'), quantity: 1.5 },
      ]),
    );
    expect(refused.code).toBe('invalid_usage_records');
    expect(refused.errors.map((e) => [e.index, e.recordId, e.code])).toEqual([
      [1, `${id}-old`, 'period_closed'],
      [2, `${id}-early`, 'unknown_dimension'],
      [3, `${id}-future`, 'timestamp_in_future'],
      [4, `${id}-feb`, 'invalid_timestamp'],
      [5, `${id}-zone`, 'invalid_timestamp'],
      [6, `${id}-q`, 'invalid_quantity'],
    ]);
    expect(refused.errors[0].message).toBe(
      'The usage of 2026-09 can no longer be reported: a month stays open until the end of the month after it, so 2026-09 closed at 2026-11-01T00:00:00.000Z. ' +
        'The earliest open month is 2026-10, open until 2026-12-01T00:00:00.000Z.',
    );
    expect(refused.message).toMatch(/^6 of 7 usage records are invalid, so none was stored\. records\[1\]/);
    const ancient = await refusal(ingestion.report(addon.id, [input(`${id}-ancient`, '0099-12-31T23:59:59Z')]));
    expect(ancient.message).toMatch(/^The usage of 0099-12 can no longer be reported: .* so 0099-12 closed at 0100-02-01T00:00:00.000Z\./);
    expect(await fixture.store.usage.findByIds(fixture.service.id, [`${id}-ok`])).toEqual([]);
  });

  it('takes usage only between the provisioning and the deprovisioning request', async () => {
    const addon = await fixture.newAddon();
    await event(addon, 'addon.provision_requested', '2026-11-01T10:00:00.600Z', { plan_id: metered.id, price_cents: 1000 });
    await event(addon, 'addon.deprovision_requested', '2026-11-05T00:00:00Z');
    // Whole seconds, as the meter counts them.
    expect((await ingestion.report(addon.id, [input(newId(), '2026-11-01T10:00:00.100Z')])).accepted).toBe(1);
    expect((await ingestion.report(addon.id, [input(newId(), '2026-11-04T23:59:59.999Z')])).accepted).toBe(1);
    const before = await refusal(ingestion.report(addon.id, [input(newId(), '2026-11-01T09:59:59Z')]));
    expect(before.code).toBe('outside_addon_lifetime');
    expect(before.message).toBe(
      "2026-11-01T09:59:59.000Z is outside the add-on's lifetime: it is billed from its provisioning request at 2026-11-01T10:00:00.000Z to its deprovisioning request at 2026-11-05T00:00:00.000Z.",
    );
    expect((await refusal(ingestion.report(addon.id, [input(newId(), '2026-11-05T00:00:00Z')]))).code).toBe('outside_addon_lifetime');

    const failed = await fixture.newAddon();
    await event(failed, 'addon.provision_requested', '2026-11-01T10:00:00Z', { plan_id: metered.id, price_cents: 1000 });
    await event(failed, 'addon.provision_failed', '2026-11-01T10:01:00Z');
    expect((await refusal(ingestion.report(failed.id, [input(newId(), '2026-11-01T10:00:30Z')]))).message).toMatch(/never provisioned/);
  });

  it('answers a repeated record id with the record first stored, flagged a duplicate, even once it would be refused', async () => {
    const addon = await addonWithHistory();
    const id = newId();
    const first = await ingestion.report(addon.id, [input(id, '2026-10-31T00:00:00Z', 'api_calls', 5)]);
    const stored = first.records[0].record;

    const repeat = await ingestion.report(addon.id, [input(id, '2026-11-12T00:00:00Z', 'storage_gb', 6), input(`${id}-new`, '2026-11-12T00:00:00Z')]);
    expect(repeat.records).toEqual([
      { record: stored, duplicate: true },
      { record: expect.objectContaining({ recordId: `${id}-new` }), duplicate: false },
    ]);
    expect(repeat).toMatchObject({ accepted: 1, duplicates: 1 });

    // December: October has closed, yet the retry of its record is answered as before.
    clock.at = at('2026-12-02T00:00:00Z');
    try {
      const retry = await ingestion.report(addon.id, [input(id, '2026-10-31T00:00:00Z', 'api_calls', 5)]);
      expect(retry.records).toEqual([{ record: stored, duplicate: true }]);
    } finally {
      clock.at = at('2026-11-20T12:00:00Z');
    }

    // One id twice in a report: the first is stored, the second answered with it.
    const twice = await ingestion.report(addon.id, [input(`${id}-twice`, '2026-11-12T00:00:00Z', 'api_calls', 1), input(`${id}-twice`, '2026-11-13T00:00:00Z', 'nope', 2)]);
    expect(twice.records.map((r) => [r.record.quantity, r.duplicate])).toEqual([
      [1, false],
      [1, true],
    ]);
  });

  it('stores a record once when two reports of it race, and answers both with it', async () => {
    const addon = await addonWithHistory();
    const id = newId();
    const inputs = Array.from({ length: 1000 }, (_, i) => input(`${id}-${i}`, '2026-11-12T00:00:00Z', 'api_calls', i));
    const [a, b] = await Promise.all([ingestion.report(addon.id, inputs), ingestion.report(addon.id, [...inputs].reverse())]);
    expect(a.accepted + b.accepted).toBe(1000);
    expect(a.duplicates + b.duplicates).toBe(1000);
    expect(a.records.map((r) => r.record)).toEqual([...b.records].reverse().map((r) => r.record));
    expect(a.records.map((r) => r.duplicate)).toEqual([...b.records].reverse().map((r) => !r.duplicate));
  });

  it('handles a report of a thousand records in a few queries', async () => {
    const addon = await addonWithHistory();
    const id = newId();
    const inputs = Array.from({ length: 1000 }, (_, i) => input(`${id}-${i}`, new Date(Date.UTC(2026, 10, 10, 0, 0, i)).toISOString(), i % 2 ? 'api_calls' : 'storage_gb', i));
    const started = Date.now();
    const result = await ingestion.report(addon.id, inputs);
    const elapsed = Date.now() - started;
    expect(result.accepted).toBe(1000);
    const again = await ingestion.report(addon.id, inputs);
    expect(again).toMatchObject({ accepted: 0, duplicates: 1000 });
    expect(again.records.map((r) => r.record)).toEqual(result.records.map((r) => r.record));
    // Generous: a thousand records take tens of milliseconds, not seconds.
    expect(elapsed).toBeLessThan(2000);
  });
});
