import { Injectable, Logger } from '@nestjs/common';
import { SecretBox } from '@app/common';
import { Addon, AddonService, Attachment, ConfigVar } from '../shared/models';
import { ConfigChange, LockedAttachment, Store } from '../shared/store.port';
import { aliasedVarName } from './naming.rules';

/**
 * Writes an add-on's config onto the apps it is attached to, each var renamed under the
 * attachment's alias, and cuts a release on every app whose vars changed. Runs inside the
 * caller's transaction so vars and the state change commit together.
 */
@Injectable()
export class AddonConfigProjector {
  private readonly logger = new Logger(AddonConfigProjector.name);

  constructor(private readonly box: SecretBox) {}

  readConfig(addon: Addon): Record<string, string> {
    return addon.configSealed ? (JSON.parse(this.box.open(addon.configSealed)) as Record<string, string>) : {};
  }

  sealConfig(config: Record<string, string>): string {
    return this.box.seal(JSON.stringify(config));
  }

  /** The configs attachments in a namespace (`credential:NAME`) get instead of the add-on's own. */
  readNamespaceConfigs(addon: Addon): Record<string, Record<string, string>> {
    return addon.namespaceConfigSealed ? (JSON.parse(this.box.open(addon.namespaceConfigSealed)) as Record<string, Record<string, string>>) : {};
  }

  sealNamespaceConfigs(configs: Record<string, Record<string, string>>): string | null {
    return Object.keys(configs).length === 0 ? null : this.box.seal(JSON.stringify(configs));
  }

  /** What an attachment exports: the add-on's config, or its namespace's (nothing if the namespace is gone). */
  configFor(addon: Addon, attachment: Pick<Attachment, 'namespace'>, config: Record<string, string> = this.readConfig(addon)): Record<string, string> {
    if (!attachment.namespace) return config;
    const namespaces = this.readNamespaceConfigs(addon);
    return Object.hasOwn(namespaces, attachment.namespace) ? namespaces[attachment.namespace] : {};
  }

  /**
   * Projects `config` onto every attachment of the add-on (namespaced attachments get their
   * namespace's config from `addon`); returns the apps that got a release. `locked` is what
   * `tx.attachments.lockAppsForAddon` answered, for a caller that sent it together with its own
   * statements; otherwise it is read here.
   */
  async projectAll(
    tx: Store,
    addon: Addon,
    service: AddonService,
    config: Record<string, string>,
    description: string,
    at: Date,
    locked?: LockedAttachment[],
  ): Promise<string[]> {
    // An app may attach the add-on more than once (aliases, credentials): one release each app.
    const byApp = new Map<string, ConfigChange>();
    for (const { attachment, vars, takenByOthers } of locked ?? (await tx.attachments.lockAppsForAddon(addon.id))) {
      const change = this.changeFor(attachment, service, this.withoutTaken(attachment, this.configFor(addon, attachment, config), service, takenByOthers), vars);
      if (!change) continue;
      const merged = byApp.get(change.appId);
      byApp.set(change.appId, merged ? { ...merged, set: [...merged.set, ...change.set], unset: [...merged.unset, ...change.unset] } : change);
    }
    for (const change of byApp.values()) await tx.releases.appendWithConfigChange(change, description, at);
    return [...byApp.keys()];
  }

  /** Makes one attachment's vars equal to the aliased `config`. Returns whether anything changed. */
  async projectOne(
    tx: Store,
    attachment: Attachment,
    service: AddonService,
    config: Record<string, string>,
    current?: ConfigVar[],
  ): Promise<boolean> {
    const change = this.changeFor(attachment, service, config, current ?? (await tx.configVars.listByAttachment(attachment.id)));
    if (!change) return false;
    await tx.configVars.delete(change.appId, change.unset);
    await tx.configVars.upsert(change.set.map((v) => ({ ...v, appId: change.appId })));
    return true;
  }

  /**
   * `config` without the keys whose var on the attachment's app another attachment owns: a key the
   * provider added after the attachment was made (its alias was checked only against the keys it
   * had then) never takes a var of another add-on.
   */
  private withoutTaken(attachment: Attachment, config: Record<string, string>, service: AddonService, takenByOthers: string[]): Record<string, string> {
    if (takenByOthers.length === 0) return config;
    const taken = new Set(takenByOthers);
    const kept = Object.entries(config).filter(([name]) => !taken.has(aliasedVarName(attachment.name, name, service.configVarsPrefix)));
    if (kept.length < Object.keys(config).length) {
      const skipped = Object.keys(config).filter((name) => taken.has(aliasedVarName(attachment.name, name, service.configVarsPrefix)));
      this.logger.warn({ attachmentId: attachment.id, appId: attachment.appId, vars: skipped.map((name) => aliasedVarName(attachment.name, name, service.configVarsPrefix)) }, 'config vars left to the attachment that owns them');
    }
    return Object.fromEntries(kept);
  }

  /** What makes the attachment's `current` vars equal to the aliased `config`; null if they are. */
  private changeFor(attachment: Attachment, service: AddonService, config: Record<string, string>, current: ConfigVar[]): ConfigChange | null {
    const desired = new Map(
      Object.entries(config).map(([name, value]) => [aliasedVarName(attachment.name, name, service.configVarsPrefix), value]),
    );
    const currentByName = new Map(current.map((v) => [v.name, this.box.open(v.valueSealed)]));
    const unset = current.filter((v) => !desired.has(v.name)).map((v) => v.name);
    const changed = [...desired].filter(([name, value]) => currentByName.get(name) !== value);
    if (unset.length === 0 && changed.length === 0) return null;
    const set = changed.map(([name, value]) => ({ name, valueSealed: this.box.seal(value), attachmentId: attachment.id }));
    return { appId: attachment.appId, set, unset };
  }

  /** The app-side var names an attachment under `alias` would own. */
  varNamesFor(alias: string, service: AddonService, config: Record<string, string>): string[] {
    const names = new Set([...service.configVars, ...Object.keys(config)]);
    return [...names].map((name) => aliasedVarName(alias, name, service.configVarsPrefix));
  }
}
