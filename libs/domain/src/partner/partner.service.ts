import { Injectable } from '@nestjs/common';
import { Clock, DomainError, InvalidInputError, NotFoundError, constantTimeEqual, hashSecret, newId, randomToken } from '@app/common';
import { Addon, AddonService } from '../shared/models';
import { Store } from '../shared/store.port';
import { AddonConfigProjector } from '../addons/addon-config.projector';
import { ProvisionLifecycle } from '../addons/provision-lifecycle.service';
import { ViewLoader, AddonView, AttachmentView } from '../addons/addon-views';

export const ACCESS_TOKEN_PREFIX = 'atp_';
export const REFRESH_TOKEN_PREFIX = 'atr_';
/** Partner access tokens last about eight hours, as Heroku's do. */
export const ACCESS_TOKEN_TTL_S = 8 * 3600;

export class InvalidGrantError extends DomainError {
  constructor(message: string) {
    super('invalid', 'invalid_grant', message);
  }
}

export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
  user_id: null;
  session_nonce: null;
}

/** A vendor's view of one add-on, reached with an OAuth token scoped to it (DESIGN §4.3). */
@Injectable()
export class PartnerService {
  constructor(
    private readonly store: Store,
    private readonly projector: AddonConfigProjector,
    private readonly lifecycle: ProvisionLifecycle,
    private readonly clock: Clock,
  ) {}

  async exchange(input: { grant_type?: string; code?: string; refresh_token?: string; client_secret?: string }): Promise<TokenResponse> {
    if (!input.client_secret) throw new InvalidGrantError('client_secret is required.');
    if (input.grant_type === 'authorization_code') {
      if (!input.code) throw new InvalidGrantError('code is required.');
      return this.store.transaction(async (tx) => {
        const grant = await tx.oauth.findGrantByCodeHashForUpdate(hashSecret(input.code!));
        const now = this.clock.now();
        if (!grant || grant.exchangedAt || grant.expiresAt <= now) throw new InvalidGrantError('The grant code is invalid, used or expired.');
        await this.assertClientSecret(tx, grant.addonId, input.client_secret!);
        await tx.oauth.markGrantExchanged(grant.id, now);
        return this.issue(tx, grant.addonId, now);
      });
    }
    if (input.grant_type === 'refresh_token') {
      if (!input.refresh_token) throw new InvalidGrantError('refresh_token is required.');
      return this.store.transaction(async (tx) => {
        const token = await tx.oauth.findTokenByRefreshHashForUpdate(hashSecret(input.refresh_token!));
        if (!token || token.revokedAt) throw new InvalidGrantError('The refresh token is invalid or revoked.');
        await this.assertClientSecret(tx, token.addonId, input.client_secret!);
        const now = this.clock.now();
        await tx.oauth.revokeToken(token.id, now);
        return this.issue(tx, token.addonId, now);
      });
    }
    throw new InvalidGrantError('grant_type must be authorization_code or refresh_token.');
  }

  /** The add-on id a live access token is scoped to, or null. */
  async authenticate(accessToken: string): Promise<string | null> {
    if (!accessToken.startsWith(ACCESS_TOKEN_PREFIX)) return null;
    const token = await this.store.oauth.findTokenByAccessHash(hashSecret(accessToken));
    if (!token || token.revokedAt || token.accessExpiresAt <= this.clock.now()) return null;
    return token.addonId;
  }

  async getAddon(addonId: string): Promise<AddonView> {
    return new ViewLoader(this.store).addon(await this.live(addonId));
  }

  async getConfig(addonId: string): Promise<{ name: string; value: string }[]> {
    const addon = await this.live(addonId);
    return Object.entries(this.projector.readConfig(addon)).map(([name, value]) => ({ name, value }));
  }

  /** Updates the add-on's config; once provisioned, every attached app gets the new vars in a release. */
  async updateConfig(addonId: string, changes: { name: string; value: string | null }[]): Promise<{ name: string; value: string }[]> {
    await this.store.transaction(async (tx) => {
      const addon = (await tx.addons.findByIdForUpdate(addonId))!;
      this.assertLive(addon);
      const service = (await tx.services.findById(addon.serviceId))!;
      const config = this.projector.readConfig(addon);
      for (const { name, value } of changes) {
        this.assertDeclared(service, name);
        if (value === null) delete config[name];
        else if (typeof value === 'string') config[name] = value;
        else throw new InvalidInputError(`The value of ${name} must be a string or null.`);
      }
      const now = this.clock.now();
      await tx.addons.update(addonId, { configSealed: this.projector.sealConfig(config), updatedAt: now });
      if (addon.state === 'provisioned') {
        await this.projector.projectAll(tx, addon, service, config, `Update ${addon.name} config`, now);
        await tx.events.append({ type: 'addon.config_changed', addonId, appId: addon.appId, occurredAt: now, data: { names: changes.map((c) => c.name) } });
      }
    });
    return this.getConfig(addonId);
  }

  async provisioned(addonId: string): Promise<AddonView> {
    const addon = await this.live(addonId);
    if (addon.state !== 'provisioning' && addon.state !== 'provisioned') {
      throw new InvalidInputError(`${addon.name} is ${addon.state} and cannot be marked provisioned.`);
    }
    return new ViewLoader(this.store).addon(await this.lifecycle.completeAsync(addonId));
  }

  async deprovisioned(addonId: string): Promise<AddonView> {
    const addon = (await this.store.addons.findById(addonId))!;
    if (addon.state !== 'deprovisioning' && addon.state !== 'deprovisioned') {
      throw new InvalidInputError(`${addon.name} is ${addon.state}; only an add-on being destroyed can be marked deprovisioned.`);
    }
    await this.lifecycle.markDeprovisioned(addonId);
    return new ViewLoader(this.store).addon((await this.store.addons.findById(addonId))!);
  }

  async attachments(addonId: string): Promise<AttachmentView[]> {
    await this.live(addonId);
    return new ViewLoader(this.store).attachments(await this.store.attachments.listForAddon(addonId));
  }

  private async live(addonId: string): Promise<Addon> {
    const addon = await this.store.addons.findById(addonId);
    this.assertLive(addon);
    return addon!;
  }

  private assertLive(addon: Addon | null): void {
    if (!addon || addon.state === 'deprovisioned') throw new NotFoundError('add_on', 'This add-on has been deprovisioned.');
  }

  private assertDeclared(service: AddonService, name: string): void {
    if (!service.configVars.includes(name)) {
      throw new InvalidInputError(`${name} is not a config var declared in the ${service.slug} manifest.`);
    }
  }

  private async assertClientSecret(tx: Store, addonId: string, clientSecret: string): Promise<void> {
    const addon = (await tx.addons.findById(addonId))!;
    const service = (await tx.services.findById(addon.serviceId))!;
    if (!service.clientSecretHash || !constantTimeEqual(service.clientSecretHash, hashSecret(clientSecret))) {
      throw new InvalidGrantError('The client secret does not match the add-on service.');
    }
  }

  private async issue(tx: Store, addonId: string, now: Date): Promise<TokenResponse> {
    const access = randomToken(48, ACCESS_TOKEN_PREFIX);
    const refresh = randomToken(48, REFRESH_TOKEN_PREFIX);
    await tx.oauth.createToken({
      id: newId(),
      addonId,
      accessHash: hashSecret(access),
      refreshHash: hashSecret(refresh),
      accessExpiresAt: new Date(now.getTime() + ACCESS_TOKEN_TTL_S * 1000),
      revokedAt: null,
    });
    return { access_token: access, refresh_token: refresh, expires_in: ACCESS_TOKEN_TTL_S, token_type: 'Bearer', user_id: null, session_nonce: null };
  }
}
