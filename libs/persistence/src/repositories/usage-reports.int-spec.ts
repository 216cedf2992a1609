import { ForbiddenError, newId } from '@app/common';
import { Addon, AppAccess, AppsService, LifecycleEvent, TeamsService, UsageReports } from '@app/domain';
import { addonOf, createApp, useAppStoreFixture } from '../../../../test/support/store-fixtures';
import { FixedClock } from '../../../../test/support/fixed-clock';

const at = (iso: string) => new Date(iso);

/**
 * Live usage (DESIGN §6) from a real lifecycle log in PostgreSQL, with the clock held at
 * 2026-11-20 00:00 UTC: November has 30 days, so a day of a 3000-cent plan is 100 cents.
 */
describe('UsageReports on a real store', () => {
  const fixture = useAppStoreFixture({
    poolSize: 2,
    emailStem: 'usage',
    service: {
      slug: `usage-${newId().slice(0, 8)}`,
      humanName: 'Usage',
      provider: 'http',
      configVarsPrefix: 'USAGE',
      defaultAlias: 'USAGE',
      configVars: ['USAGE_URL'],
      baseUrl: 'http://127.0.0.1:1',
    },
    plan: { name: 'basic', humanName: 'Basic', priceCents: 3000 },
    addonStem: 'usage',
  });
  const clock = new FixedClock(at('2026-11-20T00:00:00Z'));
  let reports: UsageReports;

  const addon = async (app = fixture.app, extra: Partial<Addon> = {}) => {
    const created = addonOf(fixture, app, { name: `usage-${newId()}`, ...extra });
    expect(await fixture.store.addons.createIfNameFree(created)).toBe(true);
    return created;
  };
  const event = (a: Addon, type: LifecycleEvent['type'], iso: string, data: Record<string, unknown> = {}) =>
    fixture.store.events.append({ type, addonId: a.id, appId: a.appId, occurredAt: at(iso), data });
  const requested = (a: Addon, iso: string, planId = fixture.plan.id, price = 3000) =>
    event(a, 'addon.provision_requested', iso, { plan_id: planId, price_cents: price });

  beforeAll(() => {
    reports = new UsageReports(fixture.store, new AppAccess(fixture.store), new TeamsService(fixture.store, clock), clock);
  });

  it('bills the app’s add-ons by the second, up to now, from their events', async () => {
    const running = await addon();
    await requested(running, '2026-11-10T00:00:00Z');

    const destroyedThisMonth = await addon(fixture.app, { state: 'deprovisioned' });
    await requested(destroyedThisMonth, '2026-10-25T00:00:00Z');
    await event(destroyedThisMonth, 'addon.deprovision_requested', '2026-11-05T00:00:00Z');

    const failed = await addon(fixture.app, { state: 'deprovisioned' });
    await requested(failed, '2026-11-12T00:00:00Z');
    await event(failed, 'addon.provision_failed', '2026-11-12T00:01:00Z');

    const gone = await addon(fixture.app, { state: 'deprovisioned', updatedAt: at('2026-10-01T00:00:10Z') });
    await requested(gone, '2026-09-01T00:00:00Z');
    await event(gone, 'addon.deprovision_requested', '2026-10-01T00:00:00Z');

    const pro = await fixture.store.plans.save({ ...fixture.plan, id: newId(), name: 'pro', humanName: 'Pro', priceCents: 9000, isDefault: false });
    const upgraded = await addon();
    await requested(upgraded, '2026-11-01T00:00:00Z');
    await event(upgraded, 'addon.plan_changed', '2026-11-11T00:00:00Z', { from_plan_id: fixture.plan.id, to_plan_id: pro.id, price_cents: 9000 });

    // The catalog price changes later: what was frozen on the add-ons stands.
    await fixture.store.plans.save({ ...fixture.plan, priceCents: 5000 });

    const report = await reports.forApp(fixture.accountId, fixture.app.name);
    expect(report.period).toEqual({ start: at('2026-11-01T00:00:00Z'), end: at('2026-12-01T00:00:00Z') });
    const byAddon = (a: Addon) => report.lines.filter((l) => l.addon.id === a.id).map((l) => ({ plan: l.plan.name.split(':')[1], seconds: l.seconds, cents: l.cents }));
    expect(byAddon(running)).toEqual([{ plan: 'basic', seconds: 10 * 86_400, cents: 1000 }]);
    expect(byAddon(destroyedThisMonth)).toEqual([{ plan: 'basic', seconds: 4 * 86_400, cents: 400 }]);
    expect(byAddon(failed)).toEqual([]);
    expect(byAddon(gone)).toEqual([]);
    expect(byAddon(upgraded)).toEqual([
      { plan: 'basic', seconds: 10 * 86_400, cents: 1000 },
      { plan: 'pro', seconds: 9 * 86_400, cents: 2700 },
    ]);
    expect(report.totalCents).toBe(1000 + 400 + 1000 + 2700);
    expect(report.totalCents).toBe(report.lines.reduce((sum, l) => sum + l.cents, 0));

    // Later the same day, the open periods have run on.
    clock.at = at('2026-11-20T12:00:00Z');
    expect((await reports.forApp(fixture.accountId, fixture.app.name)).totalCents).toBe(report.totalCents + 50 + 150);
    clock.at = at('2026-11-20T00:00:00Z');
  });

  it('bills the account for every app it owns, deleted ones of this month included, and attachments to others not at all', async () => {
    const other = await createApp(fixture);
    const onOther = await addon(other);
    await requested(onOther, '2026-11-15T00:00:00Z');
    await event(onOther, 'addon.deprovision_requested', '2026-11-18T00:00:00Z');
    await fixture.store.apps.update(other.id, { deletedAt: at('2026-11-18T00:00:01Z'), updatedAt: at('2026-11-18T00:00:01Z') });

    const account = await reports.forAccount(fixture.accountId);
    expect(account.lines.filter((l) => l.addon.id === onOther.id).map((l) => l.cents)).toEqual([300]);
    const appTotal = (await reports.forApp(fixture.accountId, fixture.app.name)).totalCents;
    expect(account.totalCents).toBe(appTotal + 300);

    // Another account, with one of this account's add-ons attached to its app, pays nothing for it.
    const stranger = await fixture.store.accounts.create({ email: `stranger-${newId()}@example.test` });
    const strangerApp = await createApp({ ...fixture, accountId: stranger.id });
    const shared = await addon();
    await requested(shared, '2026-11-01T00:00:00Z');
    await fixture.store.attachments.create({
      id: newId(),
      addonId: shared.id,
      appId: strangerApp.id,
      name: 'SHARED',
      namespace: null,
      createdAt: at('2026-11-02T00:00:00Z'),
      updatedAt: at('2026-11-02T00:00:00Z'),
    });
    expect((await reports.forAccount(stranger.id)).lines).toEqual([]);
    expect((await reports.forAccount(fixture.accountId)).lines.filter((l) => l.addon.id === shared.id).map((l) => l.cents)).toEqual([1900]);
  });

  it('splits an app’s add-ons between an account and a team at the second it is transferred, and shows the team’s bill to its members', async () => {
    const teams = new TeamsService(fixture.store, clock);
    const apps = new AppsService(fixture.store, new AppAccess(fixture.store), clock);
    const { team } = await teams.create(fixture.accountId, `team-${newId().slice(0, 8)}`);
    const moving = await createApp(fixture);
    const running = await addon(moving);
    await requested(running, '2026-11-01T00:00:00Z');

    const accountBefore = (await reports.forAccount(fixture.accountId)).totalCents;
    clock.at = at('2026-11-11T00:00:00Z');
    const transferred = await apps.transfer(fixture.accountId, moving.name, team.name);
    expect(transferred.team?.id).toBe(team.id);
    clock.at = at('2026-11-20T00:00:00Z');

    // 10 days on the account, 9 on the team.
    const teamReport = await reports.forTeam(fixture.accountId, team.name);
    expect(teamReport.lines.map((l) => ({ addon: l.addon.id, seconds: l.seconds, cents: l.cents }))).toEqual([{ addon: running.id, seconds: 9 * 86_400, cents: 900 }]);
    const account = await reports.forAccount(fixture.accountId);
    expect(account.lines.filter((l) => l.addon.id === running.id).map((l) => l.cents)).toEqual([1000]);
    expect(account.totalCents).toBe(accountBefore - 900);

    // Members read the team's bill; others do not; an app's bill goes to the team's admins.
    const member = await fixture.store.accounts.create({ email: `member-${newId()}@example.test` });
    await teams.setMember(fixture.accountId, team.name, { email: member.email, role: 'member' });
    expect((await reports.forTeam(member.id, team.name)).totalCents).toBe(900);
    await expect(reports.forApp(member.id, moving.name)).rejects.toBeInstanceOf(ForbiddenError);
    const stranger = await fixture.store.accounts.create({ email: `outsider-${newId()}@example.test` });
    await expect(reports.forTeam(stranger.id, team.name)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('prices vendor usage by the meters frozen when the add-on took its plan, not the catalog’s later ones', async () => {
    const metered = await fixture.store.plans.save({
      ...fixture.plan,
      id: newId(),
      name: `metered-${newId().slice(0, 6)}`,
      priceCents: 0,
      isDefault: false,
      meters: [{ dimension: 'emails', unit: 'email', cents_per_unit: 2, included: 0 }],
    });
    const app = await createApp(fixture);
    const mailer = await addon(app, { planId: metered.id });
    await event(mailer, 'addon.provision_requested', '2026-11-01T00:00:00Z', {
      plan_id: metered.id,
      price_cents: 0,
      meters: [{ dimension: 'emails', unit: 'email', cents_per_unit: 5, included: 0 }],
    });
    await fixture.dataSource.query(
      `INSERT INTO usage_records (service_id, record_id, addon_id, dimension, quantity, occurred_at) VALUES ($1, $2, $3, 'emails', 10, '2026-11-02T00:00:00Z')`,
      [fixture.service.id, newId(), mailer.id],
    );
    const report = await reports.forApp(fixture.accountId, app.name);
    expect(report.lines.filter((l) => l.dimension === 'emails').map((l) => ({ quantity: l.quantity, unit: l.unitPriceCents, cents: l.cents }))).toEqual([
      { quantity: 10, unit: 5, cents: 50 },
    ]);
  });

  it('shows an app’s bill to its owner only', async () => {
    const collaborator = await fixture.store.accounts.create({ email: `collab-${newId()}@example.test` });
    await fixture.store.apps.addCollaborator(fixture.app.id, collaborator.id);
    await expect(reports.forApp(collaborator.id, fixture.app.name)).rejects.toBeInstanceOf(ForbiddenError);
  });
});
