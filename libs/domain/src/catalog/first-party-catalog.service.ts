import { Injectable } from '@nestjs/common';
import { FIRST_PARTY_METERS } from '../billing/first-party-usage';
import { Clock } from '@app/common';
import { AddonService } from '../shared/models';
import { Store } from '../shared/store.port';
import { FIRST_PARTY_SERVICES, FirstPartyServiceDefinition } from './first-party-catalog';

/** Keeps the first-party services and their plans in the catalog, as defined in code. */
@Injectable()
export class FirstPartyCatalogService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Creates or updates every first-party service; idempotent. Returns their slugs. */
  async seed(definitions: FirstPartyServiceDefinition[] = FIRST_PARTY_SERVICES): Promise<string[]> {
    for (const definition of definitions) await this.seedOne(definition);
    return definitions.map((d) => d.slug);
  }

  private seedOne(definition: FirstPartyServiceDefinition): Promise<void> {
    return this.store.transaction(async (tx) => {
      const existing = await tx.services.findByIdOrSlugForUpdate(definition.slug);
      if (existing && existing.id !== definition.id) {
        throw new Error(`The slug ${definition.slug} belongs to another service (${existing.id}); a first-party service cannot take it over.`);
      }
      const now = this.clock.now();
      const service: AddonService = {
        id: definition.id,
        slug: definition.slug,
        humanName: definition.humanName,
        ownerAccountId: null,
        provider: definition.provider,
        state: 'ga',
        published: true,
        configVarsPrefix: definition.configVarsPrefix,
        defaultAlias: definition.defaultAlias,
        configVars: definition.configVars,
        requires: definition.requires,
        regions: definition.regions,
        baseUrl: null,
        ssoUrl: null,
        passwordSealed: null,
        ssoSaltSealed: null,
        timeoutMs: null,
        clientSecretHash: null,
        currentManifestId: null,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.services.save(service);
      const plans = new Map((await tx.plans.allByService(service.id)).map((p) => [p.id, p]));
      for (const plan of definition.plans) {
        await tx.plans.save({
          ...plan,
          serviceId: service.id,
          priceUnit: 'month',
          meters: FIRST_PARTY_METERS[definition.provider],
          createdAt: plans.get(plan.id)?.createdAt ?? now,
          updatedAt: now,
        });
      }
    });
  }
}
