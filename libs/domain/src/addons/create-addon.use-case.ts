import { Injectable, Optional } from '@nestjs/common';
import { Clock, ConflictError, InvalidInputError, newId } from '@app/common';
import { Addon } from '../shared/models';
import { JobDispatcher } from '../shared/ports';
import { Store } from '../shared/store.port';
import { AppAccess } from '../apps/app-access';
import { CatalogService } from '../catalog/catalog.service';
import { PostgresPlacement } from '../postgres/postgres-placement';
import { PgDedicatedCreateCheck } from '../postgres/pg-dedicated-create-check';
import { AddonView } from './addon-views';
import { AliasChooser } from './alias.chooser';
import { AttachmentWriter } from './attachment-writer';
import { aliasedVarName, assertValidAddonName, generateAddonName } from './naming.rules';

export interface CreateAddonInput {
  plan: string;
  name?: string | null;
  attachmentName?: string | null;
  options?: Record<string, unknown> | null;
  confirm?: string | null;
}

/**
 * DESIGN §3 step 1: validates, writes the add-on, its owning attachment and the event in one
 * transaction (with an essential PostgreSQL database's placement), and enqueues provisioning from
 * inside it, so the worker's pickup overlaps the rest; the job reads the add-on once the
 * transaction has ended. Never waits on the provider.
 */
@Injectable()
export class CreateAddonUseCase {
  constructor(
    private readonly store: Store,
    private readonly apps: AppAccess,
    private readonly catalog: CatalogService,
    private readonly aliases: AliasChooser,
    private readonly attachments: AttachmentWriter,
    private readonly jobs: JobDispatcher,
    private readonly clock: Clock,
    private readonly postgres: PostgresPlacement,
    // Only where dedicated PostgreSQL runs (api); the admin CLI creates no add-ons.
    @Optional() private readonly dedicated?: PgDedicatedCreateCheck,
  ) {}

  async execute(accountId: string, appIdOrName: string, input: CreateAddonInput): Promise<AddonView> {
    // Two independent reads, sent at once; a refusal of the app still comes before one of the plan.
    const [member, installable] = await Promise.allSettled([this.apps.member(accountId, appIdOrName), this.catalog.resolveInstallablePlan(accountId, input.plan)]);
    if (member.status === 'rejected') throw member.reason;
    if (installable.status === 'rejected') throw installable.reason;
    const app = member.value;
    const { service, plan } = installable.value;
    if (input.name) assertValidAddonName(input.name);
    const options = normalizeOptions(input.options ?? {});
    await this.dedicated?.check(app.id, service, plan, options);
    const region = (await this.store.regions.list()).find((r) => r.id === app.regionId)!;
    if (!service.regions.includes('*') && !service.regions.includes(region.name)) {
      throw new InvalidInputError(`${service.slug} is not available in the ${region.name} region (available: ${service.regions.join(', ')}).`);
    }
    const id = newId();
    let enqueued: Promise<void> | undefined;
    const { addon, alias } = await this.store.transaction(async (tx) => {
      if (!service.requires.includes('many_per_app')) {
        await tx.apps.lock(app.id);
        if ((await tx.addons.countLiveOnApp(app.id, service.id)) > 0) {
          throw new InvalidInputError(`${service.slug} is already installed on ${app.name} and does not support multiple installations per app.`);
        }
      }
      // Held to the end of the transaction, which the provision job's read waits for.
      const holding = tx.addons.holdCreation(id);
      // The insert is sent right behind the app's lock and alias read (one round trip for both);
      // it does not depend on the alias, and an alias refused rolls it back with the rest.
      const choosing = this.aliases.choose(tx, app, service, input.attachmentName, input.confirm, {});
      const now = this.clock.now();
      const inserting = this.insertWithFreeName(tx, service.slug, input.name, {
        id,
        serviceId: service.id,
        planId: plan.id,
        appId: app.id,
        regionId: region.id,
        state: 'provisioning',
        billedPriceCents: plan.priceCents,
        billedPriceUnit: plan.priceUnit,
        pendingPlanId: null,
        planChangeSeq: 0,
        providerId: null,
        configSealed: null,
        namespaceConfigSealed: null,
        options,
        provisionMessage: null,
        failureReason: null,
        planChangeError: null,
        asyncDeadlineAt: null,
        cleanupPending: false,
        createdAt: now,
        updatedAt: now,
        provisionedAt: null,
        deprovisionRequestedAt: null,
        deprovisionedAt: null,
      });
      // An essential database is placed right behind the insert, in the same round trip.
      const tenant = this.postgres.recordsFor(id, service, plan);
      const placing = this.postgres.placeWithAddon(tx, tenant);
      placing.catch(() => undefined); // awaited below, once the job is queued
      const [held, chosen, inserted] = await Promise.allSettled([holding, choosing, inserting]);
      if (held.status === 'rejected') throw held.reason;
      if (chosen.status === 'rejected') throw chosen.reason;
      if (inserted.status === 'rejected') throw inserted.reason;
      const [choice, created] = [chosen.value, inserted.value];
      // Queued now, so the worker's pickup overlaps the rest of the transaction: the job reads the
      // add-on once it has committed, and finds nothing (and does nothing) if it rolled back.
      // Meanwhile it prepares from the head start (an essential database's owner verifier).
      enqueued = this.jobs.provision(id, this.postgres.headStart(tenant));
      await placing;
      await tx.events.append({
        type: 'addon.provision_requested',
        addonId: created.id,
        appId: app.id,
        occurredAt: now,
        data: { plan_id: plan.id, service_id: service.id, price_cents: plan.priceCents, price_unit: plan.priceUnit, meters: plan.meters },
      });
      await this.attachments.attach(tx, created, service, app, choice, null);
      return { addon: created, alias: choice.alias };
    }).finally(() => enqueued);
    // Everything the answer needs is in hand; no need to read it back.
    const configVarNames = service.configVars.map((name) => aliasedVarName(alias, name, service.configVarsPrefix));
    return { addon, service, plan, pendingPlan: null, app, region, configVarNames };
  }

  /** Inserts the add-on under the requested name, or else under the first free generated one. */
  private async insertWithFreeName(tx: Store, slug: string, requested: string | null | undefined, addon: Omit<Addon, 'name'>): Promise<Addon> {
    if (requested) {
      const named = { ...addon, name: requested };
      if (!(await tx.addons.createIfNameFree(named))) throw new ConflictError('name_taken', `Name ${requested} is already taken.`);
      return named;
    }
    for (let i = 0; i < 10; i++) {
      const named = { ...addon, name: generateAddonName(slug) };
      if (await tx.addons.createIfNameFree(named)) return named;
    }
    throw new ConflictError('name_taken', 'Could not generate a free add-on name; please pass one.');
  }
}

/** Provider options are a flat string map; the CLI sends bare `--flag` as `true`. */
function normalizeOptions(options: Record<string, unknown>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!/^\w+$/.test(key)) throw new InvalidInputError(`Invalid option name "${key}".`);
    // Options are stored as jsonb, which cannot hold NUL.
    if (typeof value === 'string' && value.includes('\u0000')) throw new InvalidInputError(`Option ${key} must not contain NUL characters.`);
    if (typeof value === 'string') result[key] = value;
    else if (typeof value === 'boolean' || typeof value === 'number') result[key] = String(value);
    else throw new InvalidInputError(`Option ${key} must be a string.`);
  }
  return result;
}
