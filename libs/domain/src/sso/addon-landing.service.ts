import { Injectable, Logger } from '@nestjs/common';
import { DomainError, NotFoundError } from '@app/common';
import { AddonAccess } from '../addons/addon-access';
import { AddonQueries } from '../addons/addon-queries.service';
import { AddonView, AttachmentView } from '../addons/addon-views';
import { AppAccess } from '../apps/app-access';
import { KafkaOperationsUseCase } from '../kafka/kafka-operations.use-case';
import { PostgresInfoService } from '../postgres/postgres-info.service';
import { RedisOperationsUseCase } from '../redis/redis-operations.use-case';
import { Addon, AddonService, App } from '../shared/models';
import { Store } from '../shared/store.port';
import { SsoForm, SsoForms } from './sso-form.service';

type PostgresDetails = Awaited<ReturnType<PostgresInfoService['info']>>;
type RedisDetails = Awaited<ReturnType<RedisOperationsUseCase['info']>>;
type KafkaDetails = Awaited<ReturnType<KafkaOperationsUseCase['info']>>;

/** What a first-party service says about one of its add-ons: the same reads as its Platform API routes. */
export type FirstPartyDetails = { provider: 'postgres'; details: PostgresDetails } | { provider: 'redis'; details: RedisDetails } | { provider: 'kafka'; details: KafkaDetails };

/** Where an add-on's `web_url` leads: the vendor's dashboard (a signed form) or Attache's own page. */
export type AddonLandingPage =
  | { kind: 'vendor'; app: App; addon: Addon; service: AddonService; form: SsoForm }
  | {
      kind: 'first_party';
      app: App;
      view: AddonView;
      attachments: AttachmentView[];
      /** Null while the add-on is not provisioned, or when the service could not be asked (`unavailable` says why). */
      details: FirstPartyDetails | null;
      unavailable: string | null;
    };

/**
 * The page behind `{public URL}/sso/apps/{app}/addons/{addon}` (docs/sso.md). Only members of
 * `app` get anything, and only for an add-on attached to that app; nothing is signed otherwise.
 */
@Injectable()
export class AddonLanding {
  private readonly logger = new Logger('AddonLanding');

  constructor(
    private readonly store: Store,
    private readonly apps: AppAccess,
    private readonly access: AddonAccess,
    private readonly queries: AddonQueries,
    private readonly sso: SsoForms,
    private readonly postgres: PostgresInfoService,
    private readonly redis: RedisOperationsUseCase,
    private readonly kafka: KafkaOperationsUseCase,
  ) {}

  async open(accountId: string, appRef: string, addonRef: string): Promise<AddonLandingPage> {
    const app = await this.apps.member(accountId, appRef);
    const addon = await this.access.findForRead(addonRef);
    const attached = addon.appId === app.id || (await this.store.attachments.listForAddon(addon.id)).some((a) => a.appId === app.id);
    if (!attached) throw new NotFoundError('add_on', `${addon.name} is not attached to ${app.name}.`);
    const service = (await this.store.services.findById(addon.serviceId))!;
    if (service.provider === 'http') return { kind: 'vendor', app, addon, service, form: await this.sso.formFor(accountId, addon.id, app.id) };

    const view = await this.queries.get(accountId, addon.id);
    const attachments = await this.queries.listAttachmentsForAddon(accountId, addon.id);
    if (addon.state !== 'provisioned') return { kind: 'first_party', app, view, attachments, details: null, unavailable: null };
    try {
      return { kind: 'first_party', app, view, attachments, details: await this.details(service.provider, accountId, addon.id), unavailable: null };
    } catch (error) {
      // The page still shows plan, state and attachments when the service cannot answer right now:
      // a service's own "unavailable", or a failure reaching it (a cluster that refuses connections).
      if (error instanceof DomainError && error.kind === 'unavailable') return { kind: 'first_party', app, view, attachments, details: null, unavailable: error.message };
      if (error instanceof DomainError) throw error;
      // Connection errors may carry their parameters: log what failed, not the whole error.
      const { name, message, code } = (error ?? {}) as { name?: string; message?: string; code?: string };
      this.logger.warn({ addonId: addon.id, err: { name, message, code } }, `${service.humanName} did not answer for the add-on's page`);
      const unavailable = `${service.humanName} could not be reached just now; the details appear here once it answers.`;
      return { kind: 'first_party', app, view, attachments, details: null, unavailable };
    }
  }

  private async details(provider: 'postgres' | 'redis' | 'kafka', accountId: string, addonId: string): Promise<FirstPartyDetails> {
    if (provider === 'postgres') return { provider, details: await this.postgres.info(accountId, addonId) };
    if (provider === 'redis') return { provider, details: await this.redis.info(accountId, addonId) };
    return { provider, details: await this.kafka.info(accountId, addonId) };
  }
}
