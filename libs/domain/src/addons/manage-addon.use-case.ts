import { Injectable } from '@nestjs/common';
import { Clock, ConflictError, InvalidInputError, NotFoundError } from '@app/common';
import { Addon, AddonService, Plan } from '../shared/models';
import { JobDispatcher } from '../shared/ports';
import { Store } from '../shared/store.port';
import { AppAccess } from '../apps/app-access';
import { isPgMove, pgMoveStage, refusePgMoveWhileBusy } from '../postgres/pg-plan-moves';
import { AddonAccess } from './addon-access';
import { AddonView, ViewLoader } from './addon-views';
import { AttachmentWriter } from './attachment-writer';
import { assertValidAddonName } from './naming.rules';

/** Requests on an existing add-on: plan change, rename and destroy. Provider work goes to the worker. */
@Injectable()
export class ManageAddonUseCase {
  constructor(
    private readonly store: Store,
    private readonly access: AddonAccess,
    private readonly apps: AppAccess,
    private readonly attachments: AttachmentWriter,
    private readonly jobs: JobDispatcher,
    private readonly clock: Clock,
  ) {}

  /**
   * PATCH of an add-on: a plan change, a rename, or both, in one transaction, so a refused rename
   * leaves the plan as it was and the other way round. The plan change itself runs in the worker.
   */
  async update(accountId: string, appIdOrName: string | null, addonIdOrName: string, change: { plan: string | null; name: string | null }): Promise<AddonView> {
    if (change.name !== null) assertValidAddonName(change.name);
    const found = await this.locate(accountId, appIdOrName, addonIdOrName);
    const target = change.plan === null ? null : await this.targetPlan(found, change.plan);
    const result = await this.store.transaction(async (tx) => {
      let addon = (await tx.addons.findByIdForUpdate(found.id))!;
      let dispatch = false;
      if (target) ({ addon, dispatch } = await this.requestPlanChange(tx, addon, target.service, target.plan));
      if (change.name !== null) addon = await this.renameLocked(tx, addon, change.name);
      return { addon, dispatch };
    });
    if (result.dispatch) await this.jobs.changePlan(result.addon.id, result.addon.planChangeSeq);
    return new ViewLoader(this.store).addon(result.addon);
  }

  private async targetPlan(addon: Addon, planReference: string): Promise<{ service: AddonService; plan: Plan }> {
    const service = (await this.store.services.findById(addon.serviceId))!;
    return { service, plan: await this.findPlan(service.id, service.slug, planReference) };
  }

  /** Records the change to `plan` on the locked add-on; `dispatch`: the worker has it to do. */
  private async requestPlanChange(tx: Store, addon: Addon, service: AddonService, plan: Plan): Promise<{ addon: Addon; dispatch: boolean }> {
    if (addon.state !== 'provisioned') {
      throw new InvalidInputError(`${addon.name} is ${addon.state}; its plan can be changed once it is provisioned.`);
    }
    const target = addon.pendingPlanId ?? addon.planId;
    if (plan.id === target) return { addon, dispatch: false };
    await this.refuseDuringMove(tx, service, addon, plan);
    const now = this.clock.now();
    const changed: Addon = {
      ...addon,
      // Even back to the current plan: an earlier change may already be at the provider, which
      // must then be told to switch back.
      pendingPlanId: plan.id,
      planChangeSeq: addon.planChangeSeq + 1,
      planChangeError: null,
      updatedAt: now,
    };
    await tx.addons.update(addon.id, {
      pendingPlanId: changed.pendingPlanId,
      planChangeSeq: changed.planChangeSeq,
      planChangeError: null,
      updatedAt: now,
    });
    await tx.events.append({
      type: 'addon.plan_change_requested',
      addonId: addon.id,
      appId: addon.appId,
      occurredAt: now,
      data: { from_plan_id: addon.planId, to_plan_id: plan.id },
    });
    return { addon: changed, dispatch: changed.pendingPlanId !== null };
  }

  /**
   * A move to a dedicated PostgreSQL plan copies the data while the add-on stays on its shared
   * plan: another change meanwhile would race the copy or the switch, and one pending when a move
   * is asked for could still act on the shared database mid-copy. Both wait for the other to end,
   * and so does a move for a credential change or a restore under way (they wait for the move in
   * turn: both lock the add-on's row to record themselves).
   */
  private async refuseDuringMove(tx: Store, service: AddonService, addon: Addon, plan: Plan): Promise<void> {
    const moving = isPgMove(service, await tx.plans.findById(addon.planId), plan);
    if (addon.pendingPlanId) {
      const pending = (await tx.plans.findById(addon.pendingPlanId))!;
      if ((await pgMoveStage(tx, service, addon)) === 'copying') {
        throw new ConflictError('plan_change_in_progress', `${addon.name} is moving to ${service.slug}:${pending.name}; its plan can be changed again once the move has finished.`);
      }
      if (moving) {
        throw new ConflictError('plan_change_in_progress', `${addon.name} has a change to ${service.slug}:${pending.name} under way; move it to ${service.slug}:${plan.name} once that has finished.`);
      }
    }
    if (moving) await refusePgMoveWhileBusy(tx, service, addon, plan);
  }

  private async renameLocked(tx: Store, addon: Addon, newName: string): Promise<Addon> {
    if (addon.name === newName) return addon;
    if (await tx.addons.isNameTaken(newName)) throw new ConflictError('name_taken', `Name ${newName} is already taken.`);
    const now = this.clock.now();
    await tx.addons.update(addon.id, { name: newName, updatedAt: now });
    await tx.events.append({ type: 'addon.renamed', addonId: addon.id, appId: addon.appId, occurredAt: now, data: { from: addon.name, to: newName } });
    return { ...addon, name: newName, updatedAt: now };
  }

  /**
   * DESIGN §3 step 4: detaches from every app (vars removed, a release each), stops the
   * billing clock, and leaves the provider's deprovision to the worker.
   */
  async destroy(accountId: string, appIdOrName: string | null, addonIdOrName: string, force: boolean): Promise<AddonView> {
    const found = await this.locate(accountId, appIdOrName, addonIdOrName);
    const destroyed = await this.store.transaction(async (tx) => this.destroyInTransaction(tx, found.id, force));
    await this.jobs.deprovision(destroyed.id);
    return new ViewLoader(this.store).addon(destroyed);
  }

  /** Also used when an app is deleted. */
  async destroyInTransaction(tx: Store, addonId: string, force: boolean): Promise<Addon> {
    const addon = (await tx.addons.findByIdForUpdate(addonId))!;
    if (addon.state === 'deprovisioning' || addon.state === 'deprovisioned') return addon;
    const attachments = await tx.attachments.listForAddon(addon.id);
    const elsewhere = [...new Set(attachments.filter((a) => a.appId !== addon.appId).map((a) => a.appId))];
    if (elsewhere.length > 0 && !force) {
      const names = (await tx.apps.findByIds(elsewhere)).map((a) => a.name).sort();
      throw new InvalidInputError(`${addon.name} is also attached to ${names.join(', ')}; destroy it with force to detach it everywhere.`);
    }
    const now = this.clock.now();
    for (const attachment of attachments.sort((a, b) => a.appId.localeCompare(b.appId))) {
      await tx.apps.lock(attachment.appId);
      await this.attachments.detach(tx, attachment, now);
      await tx.releases.append(attachment.appId, `Remove ${addon.name} add-on`, now);
    }
    const changed: Partial<Addon> = { state: 'deprovisioning', deprovisionRequestedAt: now, pendingPlanId: null, updatedAt: now };
    await tx.addons.update(addon.id, changed);
    await tx.events.append({ type: 'addon.deprovision_requested', addonId: addon.id, appId: addon.appId, occurredAt: now, data: {} });
    return { ...addon, ...changed };
  }

  /** Finds the add-on a developer may manage; with an app in the path it must be that app's add-on. */
  private async locate(accountId: string, appIdOrName: string | null, addonIdOrName: string): Promise<Addon> {
    if (appIdOrName !== null) {
      const app = await this.apps.member(accountId, appIdOrName);
      const addon = await this.access.find(addonIdOrName);
      if (addon.appId !== app.id) throw new NotFoundError('add_on', `Couldn't find that add-on on ${app.name}.`);
      return addon;
    }
    return this.access.manageable(accountId, addonIdOrName);
  }

  private async findPlan(serviceId: string, slug: string, reference: string) {
    let name = reference.trim();
    if (name.includes(':')) {
      const [serviceSlug, planName] = name.split(':', 2);
      if (serviceSlug !== slug) {
        throw new InvalidInputError(`Couldn't find either the add-on service or the add-on plan "${reference}" for ${slug}.`);
      }
      name = planName;
    }
    const plan = await this.store.plans.findByServiceAndIdOrName(serviceId, name);
    if (!plan || plan.state === 'private') {
      throw new InvalidInputError(`Couldn't find either the add-on service or the add-on plan "${reference}".`);
    }
    if (plan.state === 'deprecated') throw new InvalidInputError(`The plan ${slug}:${plan.name} is deprecated.`);
    return plan;
  }
}
