import { RangeSpec, newId } from '@app/common';
import { Addon, App, BillingOptions, InvoicingService, LifecycleEvent, PayoutReports, Plan, TeamsService } from '@app/domain';
import { addonOf, createApp, useAppStoreFixture } from '../../../../test/support/store-fixtures';
import { FixedClock } from '../../../../test/support/fixed-clock';

const at = (iso: string) => new Date(iso);
const DAY = 86_400;
const ALL: RangeSpec = { field: 'month', order: 'desc', max: 1000, startExclusive: false, endExclusive: false };

/**
 * Monthly invoices and payouts (DESIGN §6) on a real store, with the clock held where each step
 * needs it. October 2026 has 31 days: a day of the 3100-cent plan is 100 cents.
 */
describe('InvoicingService on a real store', () => {
  const fixture = useAppStoreFixture({
    poolSize: 3,
    emailStem: 'invoicing',
    service: {
      slug: `inv-${newId().slice(0, 8)}`,
      humanName: 'Invoiced',
      provider: 'http',
      configVarsPrefix: 'INV',
      defaultAlias: 'INV',
      configVars: ['INV_URL'],
      baseUrl: 'http://127.0.0.1:1',
    },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 3100 },
    addonStem: 'inv',
  });
  const clock = new FixedClock(at('2026-11-03T00:00:00Z'));
  const options: BillingOptions = { invoiceGraceMs: 2 * DAY * 1000, platformSharePercent: 20 };
  let invoicing: InvoicingService;
  let teams: TeamsService;
  let metered: Plan;
  let teamId: string;
  let personal: App;
  let moved: App;
  let teamApp: App;
  const addons: Record<string, Addon> = {};

  const addon = async (app: App, key: string, planId: string, requested: string, destroyed?: string) => {
    const created = addonOf(fixture, app, {
      name: `inv-${key}-${newId().slice(0, 8)}`,
      planId,
      createdAt: at(requested),
      state: destroyed ? 'deprovisioned' : 'provisioned',
      deprovisionRequestedAt: destroyed ? at(destroyed) : null,
      updatedAt: at(destroyed ?? requested),
    });
    expect(await fixture.store.addons.createIfNameFree(created)).toBe(true);
    const plan = planId === metered.id ? metered : fixture.plan;
    await event(created, 'addon.provision_requested', requested, { plan_id: planId, price_cents: plan.priceCents });
    if (destroyed) await event(created, 'addon.deprovision_requested', destroyed);
    addons[key] = created;
    return created;
  };
  const event = (a: Addon, type: LifecycleEvent['type'], iso: string, data: Record<string, unknown> = {}) =>
    fixture.store.events.append({ type, addonId: a.id, appId: a.appId, occurredAt: at(iso), data });
  const usage = (a: Addon, quantity: number, occurred: string, received: string) =>
    fixture.dataSource.query(
      `INSERT INTO usage_records (service_id, record_id, addon_id, dimension, quantity, occurred_at, received_at) VALUES ($1, $2, $3, 'emails', $4, $5, $6)`,
      [fixture.service.id, newId(), a.id, quantity, at(occurred), at(received)],
    );

  beforeAll(async () => {
    teams = new TeamsService(fixture.store, clock);
    invoicing = new InvoicingService(fixture.store, teams, options, clock);
    metered = await fixture.store.plans.save({
      ...fixture.plan,
      id: newId(),
      name: 'metered',
      humanName: 'Metered',
      priceCents: 0,
      isDefault: false,
      meters: [{ dimension: 'emails', unit: 'email', cents_per_unit: 2, included: 100 }],
    });
    teamId = (await teams.create(fixture.accountId, `inv-${newId().slice(0, 8)}`)).team.id;
    personal = fixture.app;
    moved = await createApp(fixture);
    teamApp = await fixture.store.apps.create({ ...(await createApp(fixture)), id: newId(), name: `team-${newId().slice(0, 12)}`, ownerTeamId: teamId });

    await addon(personal, 'early', fixture.plan.id, '2026-10-01T00:00:00Z', '2026-10-11T00:00:00Z');
    await addon(personal, 'late', fixture.plan.id, '2026-10-21T00:00:00Z');
    const failed = await addon(personal, 'failed', fixture.plan.id, '2026-10-05T00:00:00Z', '2026-10-05T00:01:00Z');
    await event(failed, 'addon.provision_failed', '2026-10-05T00:00:30Z');
    await addon(personal, 'mailer', metered.id, '2026-10-01T00:00:00Z');
    await usage(addons.mailer, 90, '2026-10-10T00:00:00Z', '2026-10-10T00:00:01Z');
    await usage(addons.mailer, 60, '2026-10-30T00:00:00Z', '2026-10-30T00:00:01Z');
    await addon(teamApp, 'team', fixture.plan.id, '2026-10-16T00:00:00Z');
    await addon(moved, 'moved', fixture.plan.id, '2026-10-01T00:00:00Z');
    // The app goes to the team on the 21st: 20 days on the account, 11 on the team.
    await fixture.store.apps.update(moved.id, { ownerTeamId: teamId, updatedAt: at('2026-10-21T00:00:00Z') });
    await fixture.store.events.append({
      type: 'app.transferred',
      appId: moved.id,
      occurredAt: at('2026-10-21T00:00:00Z'),
      data: { from: { kind: 'account', id: fixture.accountId }, to: { kind: 'team', id: teamId } },
    });
  });

  const invoiceOf = async (kind: 'account' | 'team', id: string, month: string) => {
    const list = await (await fixture.store.invoices.listFor({ kind, id }, ALL)).items;
    const found = list.find((i) => i.month === month);
    return found ? fixture.store.invoices.findByNumber(found.number) : null;
  };
  const summary = (lines: { kind: string; addonId: string; seconds: number | null; quantity: bigint | null; cents: number }[]) =>
    lines.map((l) => ({ kind: l.kind, addon: Object.keys(addons).find((k) => addons[k].id === l.addonId), seconds: l.seconds, quantity: l.quantity, cents: l.cents }));

  it('waits for the grace window, then invoices each billing entity once: time by the second, usage above the allowance, transfers split', async () => {
    clock.at = at('2026-11-02T23:59:59Z');
    await expect(invoicing.run('2026-10')).rejects.toMatchObject({ code: 'month_open' });
    clock.at = at('2026-11-03T00:00:00Z');
    expect(invoicing.dueMonth()).toBe('2026-10');

    const result = await invoicing.run('2026-10');
    expect(result.written).toBeGreaterThanOrEqual(2);

    const account = (await invoiceOf('account', fixture.accountId, '2026-10'))!;
    expect(summary(account.lines).sort((a, b) => a.addon!.localeCompare(b.addon!) || a.kind.localeCompare(b.kind))).toEqual([
      { kind: 'time', addon: 'early', seconds: 10 * DAY, quantity: null, cents: 1000 },
      { kind: 'time', addon: 'late', seconds: 11 * DAY, quantity: null, cents: 1100 },
      { kind: 'metered', addon: 'mailer', seconds: null, quantity: 150n, cents: 100 },
      { kind: 'time', addon: 'mailer', seconds: 31 * DAY, quantity: null, cents: 0 },
      { kind: 'time', addon: 'moved', seconds: 20 * DAY, quantity: null, cents: 2000 },
    ]);
    expect(account.invoice.totalCents).toBe(4200);
    expect(account.invoice.totalCents).toBe(account.lines.reduce((sum, l) => sum + l.cents, 0));
    expect(account.lines.map((l) => l.position)).toEqual([1, 2, 3, 4, 5]);

    const team = (await invoiceOf('team', teamId, '2026-10'))!;
    expect(summary(team.lines).sort((a, b) => a.addon!.localeCompare(b.addon!))).toEqual([
      { kind: 'time', addon: 'moved', seconds: 11 * DAY, quantity: null, cents: 1100 },
      { kind: 'time', addon: 'team', seconds: 16 * DAY, quantity: null, cents: 1600 },
    ]);
  });

  it('writes no second invoice when the run is repeated, and refuses to change a final one', async () => {
    const before = (await fixture.store.invoices.listFor({ kind: 'account', id: fixture.accountId }, ALL)).items;
    await fixture.dataSource.query(`DELETE FROM billing_runs WHERE month = '2026-10'`);
    const again = await invoicing.run('2026-10');
    expect(again.written).toBe(0);
    expect((await fixture.store.invoices.listFor({ kind: 'account', id: fixture.accountId }, ALL)).items).toEqual(before);
    await expect(fixture.dataSource.query(`UPDATE invoices SET total_cents = 0 WHERE id = $1`, [before[0].id])).rejects.toThrow(/invoices are final/);
    await expect(fixture.dataSource.query(`DELETE FROM invoice_lines WHERE invoice_id = $1`, [before[0].id])).rejects.toThrow(/invoices are final/);
  });

  it('puts usage reported after an invoice on the next one as an adjustment, the allowance counted once', async () => {
    await usage(addons.mailer, 30, '2026-10-31T12:00:00Z', '2026-11-05T00:00:00Z');
    await usage(addons.mailer, 40, '2026-11-10T00:00:00Z', '2026-11-10T00:00:01Z');
    clock.at = at('2026-12-03T00:00:00Z');
    await invoicing.run('2026-11');
    const november = (await invoiceOf('account', fixture.accountId, '2026-11'))!;
    const mailer = summary(november.lines).filter((l) => l.addon === 'mailer');
    expect(mailer).toEqual([
      { kind: 'time', addon: 'mailer', seconds: 30 * DAY, quantity: null, cents: 0 },
      // November: 40 emails, inside the allowance.
      { kind: 'metered', addon: 'mailer', seconds: null, quantity: 40n, cents: 0 },
      // October's 30 late emails: (180 − 100) × 2 − (150 − 100) × 2.
      { kind: 'adjustment', addon: 'mailer', seconds: null, quantity: 30n, cents: 60 },
    ]);
    expect(november.lines.find((l) => l.kind === 'adjustment')!.usageMonth).toBe('2026-10');
    // A whole month is the monthly price, whatever its length.
    expect(summary(november.lines).find((l) => l.addon === 'late')).toMatchObject({ seconds: 30 * DAY, cents: 3100 });
    expect(summary(november.lines).find((l) => l.addon === 'moved')).toBeUndefined();
  });

  it('invoices months in order: a month whose previous one is not invoiced is refused', async () => {
    clock.at = at('2027-02-03T00:00:00Z');
    await expect(invoicing.run('2027-01')).rejects.toMatchObject({ code: 'previous_month_open' });
    expect(await fixture.store.invoices.runCompleted('2027-01')).toBe(false);
  });

  it('reports what the vendor earned per plan: gross, the platform’s 20 % and net', async () => {
    const payouts = new PayoutReports(fixture.store, options);
    const october = await payouts.forAccount(fixture.accountId, '2026-10');
    expect(october.lines.map((l) => ({ plan: l.plan.name.split(':')[1], gross: l.grossCents, share: l.platformShareCents, net: l.netCents }))).toEqual([
      { plan: 'basic', gross: 1000 + 1100 + 2000 + 1100 + 1600, share: 1360, net: 5440 },
      { plan: 'metered', gross: 100, share: 20, net: 80 },
    ]);
    expect(october).toMatchObject({ grossCents: 6900, platformShareCents: 1380, netCents: 5520, complete: true });
    expect((await payouts.forAccount(fixture.accountId, '2026-12')).complete).toBe(false);
    const stranger = await fixture.store.accounts.create({ email: `vendorless-${newId()}@example.test` });
    expect((await payouts.forAccount(stranger.id, '2026-10')).lines).toEqual([]);
  });
});
