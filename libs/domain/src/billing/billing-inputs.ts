import { App } from '../shared/models';
import { Store } from '../shared/store.port';
import { BillingEntity, ownerOf } from '../teams/teams.models';
import { InvoiceInputs } from './invoice-builder';
import { AppTransfer, OwnershipInterval, ownershipIntervals } from './ownership';
import { BillingMonth, METERED_EVENTS, monthBounds } from './metering';

/** What bills for a month are computed from, read in bulk for many entities (or apps) at once. */
export interface BillingData {
  apps: App[];
  transfersOf: Map<string, AppTransfer[]>;
  shared: Omit<InvoiceInputs, 'month' | 'previousMonth' | 'intervals' | 'addons' | 'usage' | 'invoiced' | 'until'>;
  addons: InvoiceInputs['addons'];
  usage: InvoiceInputs['usage'];
  invoiced: InvoiceInputs['invoiced'];
}

/**
 * Reads the apps the entities owned (now, or on a side of a transfer) or the given apps, their
 * add-ons, lifecycle events, plans, vendor usage of `previous` and `month` received before
 * `usageReceivedBefore`, and what invoices already hold of `previous`.
 */
export async function readBillingData(
  store: Store,
  scope: { entities: BillingEntity[] } | { apps: App[] },
  month: BillingMonth,
  previous: BillingMonth,
  usageReceivedBefore?: Date,
): Promise<BillingData> {
  const usageFrom = monthBounds(previous).start;
  const { end } = monthBounds(month);
  let apps: App[];
  if ('apps' in scope) {
    apps = scope.apps;
  } else {
    const [owned, involved] = await Promise.all([store.apps.listOwnedByAny(scope.entities, usageFrom), store.events.listTransfers({ entities: scope.entities })]);
    const known = new Set(owned.map((a) => a.id));
    apps = [...owned, ...(await store.apps.findByIds([...new Set(involved.map((t) => t.appId))].filter((id) => !known.has(id))))];
  }
  const transfers = await store.events.listTransfers({ appIds: apps.map((a) => a.id) });
  const transfersOf = new Map<string, AppTransfer[]>();
  for (const t of transfers) transfersOf.set(t.appId, [...(transfersOf.get(t.appId) ?? []), t]);

  const addons = await store.addons.listBilledTo(
    apps.map((a) => a.id),
    usageFrom,
  );
  const addonIds = addons.map((a) => a.id);
  const [events, usage, invoiced] = await Promise.all([
    store.events.listForAddons(addonIds, METERED_EVENTS),
    store.usage.sumsFor(addonIds, usageFrom, end, usageReceivedBefore),
    store.invoices.invoicedQuantities(addonIds, previous),
  ]);
  const planIds = new Set<string>();
  for (const list of events.values()) for (const e of list) for (const key of ['plan_id', 'to_plan_id']) if (typeof e.data[key] === 'string') planIds.add(e.data[key] as string);
  const plans = new Map((await store.plans.findByIds([...planIds])).map((p) => [p.id, p]));
  const services = new Map((await store.services.findByIds([...new Set([...plans.values()].map((p) => p.serviceId))])).map((s) => [s.id, s]));
  return { apps, transfersOf, shared: { apps: new Map(apps.map((a) => [a.id, a])), events, plans, services }, addons, usage, invoiced };
}

/** The inputs of one entity's bill (or, with `entity` null, of every app in the data, wholly). */
export function inputsFor(data: BillingData, entity: BillingEntity | null, month: BillingMonth, previous: BillingMonth, until?: Date): InvoiceInputs {
  const everything: OwnershipInterval[] = [{ start: null, end: null }];
  const intervals = new Map(
    data.apps
      .map((app) => [app.id, entity ? ownershipIntervals(ownerOf(app), data.transfersOf.get(app.id) ?? [], entity) : everything] as const)
      .filter(([, i]) => i.length > 0),
  );
  const addons = data.addons.filter((a) => intervals.has(a.appId));
  const ids = new Set(addons.map((a) => a.id));
  return {
    month,
    previousMonth: previous,
    until,
    intervals,
    addons,
    usage: data.usage.filter((u) => ids.has(u.addonId)),
    invoiced: data.invoiced.filter((q) => ids.has(q.addonId)),
    ...data.shared,
  };
}
