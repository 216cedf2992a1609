import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '@app/common';
import { JobDispatcher } from '../shared/ports';
import { Store } from '../shared/store.port';
import { ProvisionLifecycle } from './provision-lifecycle.service';

export abstract class ReconcilerOptions {
  abstract readonly stuckAfterMs: number;
}

/**
 * Drives add-ons stuck in a transitional state forward (a crash between commit and enqueue,
 * a lost job), and fails async provisions past their deadline. Safe to run anywhere, any time:
 * re-enqueued jobs are deduplicated by id and every step checks what is already done.
 */
@Injectable()
export class Reconciler {
  private readonly logger = new Logger(Reconciler.name);

  constructor(
    private readonly store: Store,
    private readonly jobs: JobDispatcher,
    private readonly lifecycle: ProvisionLifecycle,
    private readonly clock: Clock,
    private readonly options: ReconcilerOptions,
  ) {}

  async run(batchSize = 500): Promise<{ redriven: number; expired: number }> {
    const now = this.clock.now();
    let expired = 0;
    for (const addon of await this.store.addons.findAsyncPastDeadline(now, batchSize)) {
      await this.lifecycle.fail(addon.id, 'The provider did not finish provisioning in time.');
      expired++;
    }
    const stuck = await this.store.addons.findStuck(new Date(now.getTime() - this.options.stuckAfterMs), batchSize);
    for (const addon of stuck) {
      if (addon.state === 'provisioning' && !addon.asyncDeadlineAt) await this.jobs.provision(addon.id);
      else if (addon.state === 'deprovisioning' || (addon.state === 'deprovisioned' && addon.cleanupPending)) await this.jobs.deprovision(addon.id);
      else if (addon.state === 'provisioned' && addon.pendingPlanId) await this.jobs.changePlan(addon.id, addon.planChangeSeq);
    }
    if (stuck.length + expired > 0) this.logger.log({ redriven: stuck.length, expired }, 'reconciled add-ons');
    return { redriven: stuck.length, expired };
  }
}
