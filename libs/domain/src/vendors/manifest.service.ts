import { Injectable } from '@nestjs/common';
import {
  Clock,
  DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  Page,
  RangeSpec,
  SecretBox,
  constantTimeEqual,
  hashSecret,
  newId,
  randomToken,
} from '@app/common';
import { AddonService, Manifest, Plan } from '../shared/models';
import { Store } from '../shared/store.port';
import { validateManifest } from './manifest.validator';
import { VendorActor } from './vendor-actor';

export class ManifestInvalidError extends DomainError {
  constructor(readonly errors: { field: string; message: string }[]) {
    super('invalid', 'invalid_manifest', `The manifest is invalid: ${errors.map((e) => `${e.field || '(manifest)'} ${e.message}`).join('; ')}.`);
  }
}

export interface PushResult {
  service: AddonService;
  manifest: Manifest;
  contents: unknown;
  /** Only on the first push of a slug: the OAuth client secret for the partner API. */
  clientSecret: string | null;
}

export const CLIENT_SECRET_PREFIX = 'acs_';

/** Provided by the api app from configuration. */
export abstract class ManifestServiceOptions {
  abstract readonly production: boolean;
}

/** Vendors register and update their services by pushing manifests. */
@Injectable()
export class ManifestService {
  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly options: ManifestServiceOptions,
  ) {}

  async push(actor: VendorActor, slug: string, contents: unknown): Promise<PushResult> {
    const result = validateManifest(contents, { production: this.options.production });
    if (!result.ok) throw new ManifestInvalidError(result.errors);
    const manifest = result.manifest;
    if (manifest.id !== slug) {
      throw new InvalidInputError(`The manifest id "${manifest.id}" does not match the add-on slug "${slug}" in the path; slugs never change.`);
    }
    return this.store.transaction(async (tx) => {
      // Locked: two pushes (or a push and a publish) must not undo each other.
      const existing = await tx.services.findByIdOrSlugForUpdate(slug);
      if (existing) this.assertManages(actor, existing);
      if (!existing && actor.kind !== 'account') throw new NotFoundError('add_on_service');
      if (existing && existing.provider !== 'http') throw new ForbiddenError(`${slug} is a first-party service.`);
      const now = this.clock.now();
      const clientSecret = existing ? null : randomToken(48, CLIENT_SECRET_PREFIX);
      const serviceId = existing?.id ?? newId();
      const record: Manifest = {
        id: newId(),
        serviceId,
        contentsSealed: this.box.seal(JSON.stringify(contents)),
        pushedBy: actor.kind === 'account' ? actor.accountId : null,
        createdAt: now,
      };
      const service: AddonService = {
        id: serviceId,
        slug,
        humanName: manifest.name ?? slug,
        ownerAccountId: existing?.ownerAccountId ?? (actor as { accountId: string }).accountId,
        provider: 'http',
        state: existing?.state ?? 'alpha',
        published: existing?.published ?? false,
        configVarsPrefix: manifest.api.config_vars_prefix,
        defaultAlias: manifest.api.config_vars_prefix,
        configVars: manifest.api.config_vars,
        requires: manifest.api.requires,
        regions: manifest.api.regions,
        baseUrl: manifest.api.production.base_url,
        ssoUrl: manifest.api.production.sso_url,
        passwordSealed: this.box.seal(manifest.api.password),
        ssoSaltSealed: this.box.seal(manifest.api.sso_salt),
        timeoutMs: manifest.api.timeout_ms ?? null,
        clientSecretHash: existing?.clientSecretHash ?? hashSecret(clientSecret!),
        currentManifestId: record.id,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.services.save(service);
      await tx.manifests.add(record);
      await this.syncPlans(tx, service, manifest.plans, now);
      return { service, manifest: record, contents, clientSecret };
    });
  }

  async current(actor: VendorActor, slug: string): Promise<{ service: AddonService; manifest: Manifest; contents: unknown }> {
    const service = await this.managedService(actor, slug);
    if (!service.currentManifestId) throw new NotFoundError('manifest');
    return this.get(actor, slug, service.currentManifestId);
  }

  async list(actor: VendorActor, slug: string, range: RangeSpec): Promise<{ service: AddonService; page: Page<Manifest> }> {
    const service = await this.managedService(actor, slug);
    return { service, page: await this.store.manifests.list(service.id, range) };
  }

  async get(actor: VendorActor, slug: string, manifestId: string): Promise<{ service: AddonService; manifest: Manifest; contents: unknown }> {
    const service = await this.managedService(actor, slug);
    const manifest = await this.store.manifests.findById(service.id, manifestId);
    if (!manifest) throw new NotFoundError('manifest');
    return { service, manifest, contents: this.contents(manifest) };
  }

  contents(manifest: Manifest): unknown {
    return JSON.parse(this.box.open(manifest.contentsSealed));
  }

  async regenerateClientSecret(actor: VendorActor, slug: string): Promise<{ service: AddonService; clientSecret: string }> {
    const service = await this.managedService(actor, slug);
    const clientSecret = randomToken(48, CLIENT_SECRET_PREFIX);
    const patch = { clientSecretHash: hashSecret(clientSecret), updatedAt: this.clock.now() };
    await this.store.services.update(service.id, patch);
    return { service: { ...service, ...patch }, clientSecret };
  }

  /** Operators publish a service: installable by everyone from then on. */
  async publish(slug: string): Promise<AddonService> {
    const service = await this.store.services.findByIdOrSlug(slug);
    if (!service) throw new NotFoundError('add_on_service', `No add-on service ${slug}.`);
    const patch = { published: true, state: 'ga' as const, updatedAt: this.clock.now() };
    await this.store.services.update(service.id, patch);
    return { ...service, ...patch };
  }

  /** For HTTP Basic `slug:password` authentication of vendor calls. */
  async authenticateBasic(slug: string, password: string): Promise<AddonService | null> {
    const service = await this.store.services.findByIdOrSlug(slug);
    if (!service || service.provider !== 'http' || !service.passwordSealed) return null;
    return constantTimeEqual(this.box.open(service.passwordSealed), password) ? service : null;
  }

  async managedService(actor: VendorActor, slug: string): Promise<AddonService> {
    const service = await this.store.services.findByIdOrSlug(slug);
    if (!service) throw new NotFoundError('add_on_service', `Couldn't find that add-on service.`);
    this.assertManages(actor, service);
    return service;
  }

  private assertManages(actor: VendorActor, service: AddonService): void {
    const allowed = actor.kind === 'account' ? service.ownerAccountId === actor.accountId : service.id === actor.serviceId;
    if (!allowed) throw new ForbiddenError(`You do not manage the add-on service ${service.slug}.`);
  }

  /** Plans in the manifest are created or updated; plans dropped from it are deprecated, never deleted. */
  private async syncPlans(tx: Store, service: AddonService, plans: ManifestPlanInput[], now: Date): Promise<void> {
    const existing = new Map((await tx.plans.allByService(service.id)).map((p) => [p.name, p]));
    for (const input of plans) {
      const current = existing.get(input.name);
      const plan: Plan = {
        id: current?.id ?? newId(),
        serviceId: service.id,
        name: input.name,
        humanName: input.human_name,
        description: input.description ?? '',
        priceCents: input.price.cents,
        priceUnit: input.price.unit,
        isDefault: input.default === true,
        state: input.state ?? 'public',
        meters: input.meters ?? [],
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
      await tx.plans.save(plan);
      existing.delete(input.name);
    }
    for (const dropped of existing.values()) {
      if (dropped.state !== 'deprecated' || dropped.isDefault) {
        await tx.plans.save({ ...dropped, state: 'deprecated', isDefault: false, updatedAt: now });
      }
    }
  }
}

interface ManifestPlanInput {
  name: string;
  human_name: string;
  description?: string;
  price: { cents: number; unit: string };
  default?: boolean;
  state?: Plan['state'];
  meters?: Plan['meters'];
}
