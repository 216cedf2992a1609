import { Injectable } from '@nestjs/common';
import { Clock, InvalidInputError } from '@app/common';
import { AddonService, Plan } from '../shared/models';
import { ProviderRefusedError } from '../shared/ports';
import { hasStandby, isDedicatedPlan } from './pg-dedicated-plans';
import { parseDedicatedRequest } from './pg-dedicated-requests';
import { PgDedicatedSources } from './pg-dedicated-sources';

/**
 * What can be checked about a dedicated add-on's options while the create request waits: the
 * options themselves, the source, and a rollback's moment against the source's window. A refusal
 * answers 422 at once instead of an add-on that fails in the worker (which checks again).
 */
@Injectable()
export class PgDedicatedCreateCheck {
  constructor(
    private readonly sources: PgDedicatedSources,
    private readonly clock: Clock,
  ) {}

  async check(appId: string, service: AddonService, plan: Plan, options: Record<string, string>): Promise<void> {
    if (service.provider !== 'postgres' || !isDedicatedPlan(plan.name)) return;
    try {
      const request = parseDedicatedRequest(options);
      if (request.kind === 'new') return;
      if (hasStandby(plan.name)) {
        throw new ProviderRefusedError(`postgresql:${plan.name} starts with an empty database: create the ${request.kind === 'follow' ? 'follower' : request.kind} on a standard plan instead.`);
      }
      if (request.kind === 'fork') {
        await this.sources.resolveAny(appId, request.source);
        return;
      }
      const source = await this.sources.resolve(appId, request.source);
      if (request.kind === 'rollback') {
        const now = this.clock.now();
        await this.sources.checkTarget(source, 'to' in request ? request.to : new Date(now.getTime() - request.byMs), now);
      }
    } catch (error) {
      if (error instanceof ProviderRefusedError) throw new InvalidInputError(error.message);
      throw error;
    }
  }
}
