import { Injectable, Logger } from '@nestjs/common';
import { Clock, hashSecret, newId, randomToken } from '@app/common';
import { Addon, AddonService } from '../shared/models';
import { JobDispatcher, ProviderRefusedError, ProvisionHeadStart, ProvisionOutcome, ProvisionerRegistry } from '../shared/ports';
import { LockedAttachment, Store } from '../shared/store.port';
import { pgMoveStage } from '../postgres/pg-plan-moves';
import { AddonConfigProjector } from './addon-config.projector';

export type StepResult = 'done' | 'skipped' | 'waiting';

/** How long a vendor has to exchange the OAuth grant code sent with a provision request. */
const GRANT_TTL_MS = 5 * 60_000;
export const GRANT_CODE_PREFIX = 'atg_';

/** Settings the worker passes in from configuration. */
export abstract class LifecycleOptions {
  abstract readonly publicUrl: string;
  abstract readonly asyncDeadlineMs: number;
  /**
   * How long the final transaction, holding the add-on's and its apps' locks, waits for a
   * provider's resource to be ready; past it, the locks are let go and the transaction runs again
   * once the resource is. Default {@link READY_WAIT_IN_TRANSACTION_MS}.
   */
  readonly readyWaitInTransactionMs?: number;
}

/** Tenants of a shared cluster take tens of milliseconds; a slower one must not hold apps' locks. */
export const READY_WAIT_IN_TRANSACTION_MS = 2_000;

/** Thrown inside the final transaction to roll it back when the resource was not ready in time. */
class NotReadyInTime extends Error {}

/**
 * The worker's side of DESIGN §3: each method is one idempotent step that a job runs and may
 * run again after a crash. Every step re-reads the add-on and acts only if its work is not done.
 */
@Injectable()
export class ProvisionLifecycle {
  private readonly logger = new Logger(ProvisionLifecycle.name);

  constructor(
    private readonly store: Store,
    private readonly provisioners: ProvisionerRegistry,
    private readonly projector: AddonConfigProjector,
    private readonly jobs: JobDispatcher,
    private readonly clock: Clock,
    private readonly options: LifecycleOptions,
  ) {}

  /**
   * Calls the provider; throws ProviderUnavailableError for the queue to retry. The job may come
   * while the transaction creating the add-on is still open: it is read once that has ended, and
   * meanwhile the provisioner prepares what it can from the job's head start.
   */
  async provision(addonId: string, headStart?: ProvisionHeadStart): Promise<StepResult> {
    const prepared = headStart ? this.provisioners.prepare(headStart) : undefined;
    const [{ found, prefetched }, regions] = await Promise.all([
      this.store.readOnceCreated(addonId, async (tx) => {
        const [found, prefetched] = await Promise.all([tx.addons.findWithCatalog(addonId), this.provisioners.prefetch(tx, addonId)]);
        return { found, prefetched };
      }),
      this.store.regions.list(),
    ]);
    if (!found || found.addon.state !== 'provisioning') return 'skipped';
    const { addon, service, plan } = found;
    if (addon.asyncDeadlineAt) return 'waiting';
    const region = regions.find((r) => r.id === addon.regionId)!;
    const oauthGrant = service.provider === 'http' ? await this.issueGrant(addon.id) : null;
    let outcome;
    try {
      outcome = await this.provisioners.forService(service).provision({
        addon,
        service,
        plan,
        region,
        oauthGrant,
        callbackUrl: `${this.options.publicUrl}/addons/${addon.id}`,
        prefetched,
        prepared,
      });
    } catch (error) {
      if (error instanceof ProviderRefusedError) {
        await this.fail(addonId, error.message);
        return 'done';
      }
      throw error;
    }
    const ready = outcome.kind === 'provisioned' ? outcome.ready : undefined;
    try {
      return await this.settleProvision(addonId, service, outcome);
    } finally {
      // Nothing after this step may race the provider still building (a cleanup's deprovision would).
      await ready?.catch(() => undefined);
    }
  }

  private async settleProvision(addonId: string, service: AddonService, outcome: ProvisionOutcome): Promise<StepResult> {
    if (outcome.kind === 'provisioned') {
      const invalid = this.invalidConfig(service, outcome.config);
      if (invalid) {
        await outcome.ready?.catch(() => undefined);
        await this.fail(addonId, `The provider's response was invalid: ${invalid}.`);
        return 'done';
      }
    }
    let result: StepResult | 'cleanup' | 'moved';
    try {
      result = await this.finalTransaction(addonId, service, outcome, this.options.readyWaitInTransactionMs ?? READY_WAIT_IN_TRANSACTION_MS);
    } catch (error) {
      if (!(error instanceof NotReadyInTime) || outcome.kind !== 'provisioned') throw error;
      await outcome.ready;
      result = await this.finalTransaction(addonId, service, outcome, null);
    }
    if (result === 'moved') result = await this.store.transaction((tx) => this.markForCleanup(tx, addonId, this.clock.now(), outcome));
    if (result !== 'cleanup') return result;
    if (outcome.kind === 'provisioned') await outcome.ready?.catch(() => undefined);
    await this.jobs.deprovision(addonId);
    return 'skipped';
  }

  /**
   * Records the provider's answer. A resource still being built is waited for inside, with the
   * add-on and its apps locked, for at most `readyWaitMs` (none: it is ready already).
   */
  private finalTransaction(addonId: string, service: AddonService, outcome: ProvisionOutcome, readyWaitMs: number | null): Promise<StepResult | 'cleanup' | 'moved'> {
    return this.store.transaction(async (tx): Promise<StepResult | 'cleanup' | 'moved'> => {
      const now = this.clock.now();
      if (outcome.kind === 'pending') {
        const waiting = await tx.addons.updateIfInState(addonId, 'provisioning', {
          providerId: outcome.providerId,
          provisionMessage: outcome.message,
          asyncDeadlineAt: new Date(now.getTime() + this.options.asyncDeadlineMs),
          updatedAt: now,
        });
        return waiting ? 'waiting' : this.markForCleanup(tx, addonId, now, outcome);
      }
      const patch = this.provisionedPatch(outcome.config, outcome.providerId, outcome.message, now);
      // Sent together (one round trip): the add-on's row is updated, and so locked, before its
      // apps are locked, in the order the statements reach PostgreSQL.
      const [provisioned, attached] = await Promise.all([
        tx.addons.updateIfInState(addonId, 'provisioning', patch),
        tx.attachments.lockAppsForAddon(addonId),
      ]);
      // The apps are locked but not the add-on, which left `provisioning` meanwhile: committing
      // writes nothing, and the cleanup locks the add-on first in a transaction of its own.
      if (!provisioned) return 'moved';
      await this.projectProvisioned(tx, provisioned, service, outcome.config, now, attached);
      // Committed only once the resource exists: a provider's failure rolls all of it back. Until
      // then everything is sent, so that only the COMMIT follows the resource.
      if (outcome.ready && readyWaitMs !== null) {
        tx.sendHeldWrites();
        await settledWithin(outcome.ready, readyWaitMs);
      }
      return 'done';
    });
  }

  /**
   * Final failure: the add-on ends `deprovisioned` with the reason (never billed), its
   * attachments go, and the provider is asked to delete anything half-made.
   */
  async fail(addonId: string, reason: string): Promise<void> {
    const failed = await this.store.transaction(async (tx) => {
      const addon = await tx.addons.findByIdForUpdate(addonId);
      if (!addon || addon.state !== 'provisioning') return false;
      const now = this.clock.now();
      for (const attachment of await tx.attachments.listForAddon(addonId)) {
        await tx.configVars.deleteByAttachment(attachment.id);
        await tx.attachments.delete(attachment.id);
      }
      await tx.addons.update(addonId, {
        state: 'deprovisioned',
        failureReason: reason,
        deprovisionedAt: now,
        cleanupPending: true,
        updatedAt: now,
      });
      await tx.oauth.revokeAllForAddon(addonId, now);
      await tx.events.append({ type: 'addon.provision_failed', addonId, appId: addon.appId, occurredAt: now, data: { reason } });
      return true;
    });
    if (failed) {
      this.logger.warn({ addonId, reason }, 'provision failed');
      await this.jobs.deprovision(addonId);
    }
  }

  /** The vendor finished an async provision through the partner API. */
  async completeAsync(addonId: string): Promise<Addon> {
    return this.store.transaction(async (tx) => {
      const addon = (await tx.addons.findByIdForUpdate(addonId))!;
      if (addon.state !== 'provisioning') return addon;
      const service = (await tx.services.findById(addon.serviceId))!;
      const now = this.clock.now();
      return this.markProvisioned(tx, addon, service, this.projector.readConfig(addon), addon.providerId, addon.provisionMessage, now);
    });
  }

  /**
   * Asks the provider for the pending plan, then switches the add-on (config onto every attached
   * app). A move to a dedicated PostgreSQL plan keeps the change pending across the switch and
   * runs it once more on the new plan: the provider drops the shared database only then, so no
   * crash or failure can leave the add-on pointing at a database that is gone.
   */
  async changePlan(addonId: string, seq: number): Promise<StepResult> {
    const addon = await this.store.addons.findById(addonId);
    if (!addon || addon.state !== 'provisioned' || !addon.pendingPlanId || addon.planChangeSeq !== seq) return 'skipped';
    const service = (await this.store.services.findById(addon.serviceId))!;
    const plan = (await this.store.plans.findById(addon.pendingPlanId))!;
    const moving = (await pgMoveStage(this.store, service, addon)) === 'copying';
    let outcome;
    try {
      outcome = await this.provisioners.forService(service).changePlan({ addon, service, plan });
    } catch (error) {
      if (error instanceof ProviderRefusedError) {
        await this.failPlanChange(addonId, seq, error.message);
        return 'done';
      }
      throw error;
    }
    const config = outcome.kind === 'changed' ? outcome.config : null;
    const invalid = config ? this.invalidConfig(service, config) : null;
    if (invalid) {
      await this.failPlanChange(addonId, seq, `The provider's response was invalid: ${invalid}.`);
      return 'done';
    }
    const result = await this.store.transaction(async (tx): Promise<StepResult> => {
      const current = await tx.addons.findByIdForUpdate(addonId);
      if (!current || current.state !== 'provisioned' || current.planChangeSeq !== seq || current.pendingPlanId !== plan.id) return 'skipped';
      const now = this.clock.now();
      const patch: Partial<Addon> = {
        planId: plan.id,
        pendingPlanId: moving ? plan.id : null,
        billedPriceCents: plan.priceCents,
        billedPriceUnit: plan.priceUnit,
        provisionMessage: outcome.message ?? current.provisionMessage,
        updatedAt: now,
      };
      if (config) {
        const merged = { ...this.projector.readConfig(current), ...config };
        patch.configSealed = this.projector.sealConfig(merged);
        await this.projector.projectAll(tx, current, service, merged, `Update ${current.name} config (plan change)`, now);
      }
      await tx.addons.update(addonId, patch);
      // A change back to the plan the add-on is on (or a move's second run) bills nothing new.
      if (current.planId !== plan.id) {
        await tx.events.append({
          type: 'addon.plan_changed',
          addonId,
          appId: current.appId,
          occurredAt: now,
          data: { from_plan_id: current.planId, to_plan_id: plan.id, price_cents: plan.priceCents, price_unit: plan.priceUnit, meters: plan.meters },
        });
      }
      return 'done';
    });
    return result === 'done' && moving ? this.changePlan(addonId, seq) : result;
  }

  /**
   * The change's last attempt failed, or the provider refused it: the add-on stays on its plan.
   * A PostgreSQL move that gives up before its switch has the provider settle the add-on on its
   * shared plan (its database writable and open again); one past its switch does not fail: the
   * add-on is on the new plan, and the reconciler runs the change again until it completes.
   */
  async failPlanChange(addonId: string, seq: number, reason: string): Promise<void> {
    const found = await this.store.addons.findById(addonId);
    if (!found || found.planChangeSeq !== seq || !found.pendingPlanId) return;
    const service = (await this.store.services.findById(found.serviceId))!;
    const stage = await pgMoveStage(this.store, service, found);
    if (stage === 'switched') {
      this.logger.warn({ addonId, reason }, 'a moved database could not be dropped yet; the reconciler will try again');
      return;
    }
    const failed = await this.store.transaction(async (tx) => {
      const addon = await tx.addons.findByIdForUpdate(addonId);
      if (!addon || addon.planChangeSeq !== seq || !addon.pendingPlanId) return null;
      const now = this.clock.now();
      await tx.addons.update(addonId, { pendingPlanId: null, planChangeError: reason, updatedAt: now });
      await tx.events.append({
        type: 'addon.plan_change_failed',
        addonId,
        appId: addon.appId,
        occurredAt: now,
        data: { to_plan_id: addon.pendingPlanId, reason },
      });
      return { ...addon, pendingPlanId: null, planChangeError: reason, updatedAt: now };
    });
    if (!failed || stage !== 'copying') return;
    const plan = (await this.store.plans.findById(failed.planId))!;
    await this.provisioners
      .forService(service)
      .changePlan({ addon: failed, service, plan })
      .catch((error: Error) => this.logger.warn({ addonId, err: error.message }, 'the shared database of a move that gave up could not be made writable again'));
  }

  /** Deletes the resource at the provider: for a destroy, or to clean up after a failed provision. */
  async deprovision(addonId: string): Promise<StepResult> {
    const addon = await this.store.addons.findById(addonId);
    if (!addon) return 'skipped';
    const cleanup = addon.state === 'deprovisioned' && addon.cleanupPending;
    if (addon.state !== 'deprovisioning' && !cleanup) return 'skipped';
    const service = (await this.store.services.findById(addon.serviceId))!;
    let refusal: string | null = null;
    try {
      const outcome = await this.provisioners.forService(service).deprovision({ addon, service });
      if (outcome.kind === 'pending' && !cleanup) return 'waiting';
    } catch (error) {
      if (!(error instanceof ProviderRefusedError)) throw error;
      refusal = error.message;
      this.logger.warn({ addonId, reason: refusal }, 'provider refused to deprovision; treating the add-on as gone');
    }
    await this.markDeprovisioned(addonId, refusal);
    return 'done';
  }

  /** Also the partner API's `actions/deprovision` for vendors that answered the DELETE with 202. */
  async markDeprovisioned(addonId: string, note: string | null = null): Promise<void> {
    await this.store.transaction(async (tx) => {
      const addon = await tx.addons.findByIdForUpdate(addonId);
      if (!addon) return;
      const now = this.clock.now();
      if (addon.state === 'deprovisioned') {
        if (addon.cleanupPending) await tx.addons.update(addonId, { cleanupPending: false, updatedAt: now });
        return;
      }
      if (addon.state !== 'deprovisioning') return;
      await tx.addons.update(addonId, {
        state: 'deprovisioned',
        deprovisionedAt: now,
        failureReason: note ?? addon.failureReason,
        updatedAt: now,
      });
      await tx.oauth.revokeAllForAddon(addonId, now);
      await tx.events.append({ type: 'addon.deprovisioned', addonId, appId: addon.appId, occurredAt: now, data: {} });
    });
  }

  private async markProvisioned(
    tx: Store,
    addon: Addon,
    service: AddonService,
    config: Record<string, string>,
    providerId: string | null,
    message: string | null,
    now: Date,
  ): Promise<Addon> {
    const patch = this.provisionedPatch(config, providerId, message, now);
    await tx.addons.update(addon.id, patch);
    const provisioned = { ...addon, ...patch };
    await this.projectProvisioned(tx, provisioned, service, config, now);
    return provisioned;
  }

  private provisionedPatch(config: Record<string, string>, providerId: string | null, message: string | null, now: Date): Partial<Addon> {
    return {
      state: 'provisioned',
      providerId,
      configSealed: this.projector.sealConfig(config),
      provisionMessage: message,
      asyncDeadlineAt: null,
      provisionedAt: now,
      updatedAt: now,
    };
  }

  /**
   * The config onto every attached app (a release each) and the event, for an add-on just
   * provisioned; `locked`: its attachments and their apps, if the caller locked them already.
   */
  private async projectProvisioned(
    tx: Store,
    addon: Addon,
    service: AddonService,
    config: Record<string, string>,
    now: Date,
    locked?: LockedAttachment[],
  ): Promise<void> {
    await this.projector.projectAll(tx, addon, service, config, `Add ${addon.name} add-on`, now, locked);
    await tx.events.append({ type: 'addon.provisioned', addonId: addon.id, appId: addon.appId, occurredAt: now, data: { provider_id: addon.providerId } });
  }

  /**
   * Destroyed while the provider was working. Its DELETE may have reached the provider before
   * this resource existed, so the provider is asked once more (an orphan otherwise).
   */
  /**
   * The provider answered after the add-on left `provisioning`. Already provisioned (the vendor
   * finished through the partner API before its 202 was recorded, or this is a repeated job):
   * keep what the answer adds. Destroyed meanwhile: its DELETE may have reached the provider before
   * this resource existed, so the provider is asked once more (an orphan otherwise).
   */
  private async markForCleanup(
    tx: Store,
    addonId: string,
    now: Date,
    answer: { providerId: string | null; message: string | null },
  ): Promise<'skipped' | 'cleanup'> {
    const addon = await tx.addons.findByIdForUpdate(addonId);
    if (!addon) return 'skipped';
    if (addon.state === 'provisioned' || addon.state === 'provisioning') {
      await tx.addons.update(addonId, {
        providerId: addon.providerId ?? answer.providerId,
        provisionMessage: addon.provisionMessage ?? answer.message,
        updatedAt: now,
      });
      return 'skipped';
    }
    await tx.addons.update(addonId, { cleanupPending: true, updatedAt: now });
    return 'cleanup';
  }

  private async issueGrant(addonId: string): Promise<{ code: string; expiresAt: Date }> {
    const code = randomToken(40, GRANT_CODE_PREFIX);
    const expiresAt = new Date(this.clock.now().getTime() + GRANT_TTL_MS);
    await this.store.oauth.createGrant({ id: newId(), addonId, codeHash: hashSecret(code), expiresAt, exchangedAt: null });
    return { code, expiresAt };
  }

  /** kensa's response checks: declared, prefixed names and string values. */
  private invalidConfig(service: AddonService, config: Record<string, string>): string | null {
    for (const [name, value] of Object.entries(config)) {
      if (typeof value !== 'string') return `config var ${name} is not a string`;
      const declared = service.configVars.includes(name) || (service.provider !== 'http' && name.startsWith(`${service.configVarsPrefix}_`));
      if (!declared) return `config var ${name} is not declared in the manifest`;
    }
    return null;
  }
}

/** Resolves or rejects as `ready` does, or rejects with NotReadyInTime after `ms`. */
async function settledWithin(ready: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new NotReadyInTime()), ms)));
  try {
    await Promise.race([ready, late]);
  } finally {
    clearTimeout(timer);
  }
}
