import { Addon, AddonService, Plan, Region } from './models';
import { Store } from './store.port';
import { TenantPlacement } from '../postgres/postgres.repositories';

/** Enqueues lifecycle work for the worker. Job ids are deterministic, so repeats are no-ops. */
export abstract class JobDispatcher {
  /** `headStart`: only from the transaction creating the add-on, about what it recorded. */
  abstract provision(addonId: string, headStart?: ProvisionHeadStart): Promise<void>;
  abstract changePlan(addonId: string, seq: number): Promise<void>;
  /** Deprovisions at the provider: for a destroy, and for cleaning up after a failed provision. */
  abstract deprovision(addonId: string): Promise<void>;
  /** Captures a first-party PostgreSQL backup. */
  abstract postgresBackup(backupId: string): Promise<void>;
  /** Loads a backup into a first-party PostgreSQL add-on. */
  abstract postgresRestore(restoreId: string): Promise<void>;
}

export interface ProvisionRequest {
  addon: Addon;
  service: AddonService;
  plan: Plan;
  region: Region;
  oauthGrant: { code: string; expiresAt: Date } | null;
  callbackUrl: string;
  /** What `ProvisionerRegistry.prefetch` read alongside the add-on, if it was called. */
  prefetched?: ProvisionPrefetch;
  /** What `ProvisionerRegistry.prepare` began from the job's head start, if it had one. */
  prepared?: ProvisionPreparation;
}

/**
 * What the transaction creating an add-on recorded that its provision can prepare from, sent with
 * the job (queued from inside that transaction): an essential database's owner password, sealed.
 */
export interface ProvisionHeadStart {
  postgresOwnerPasswordSealed?: string;
}

/** Work begun from a head start while the transaction creating the add-on commits. */
export interface ProvisionPreparation {
  /** The owner password the head start gave (sealed) and its verifier, being derived. */
  postgresOwner?: { passwordSealed: string; verifier: Promise<string> };
}

/**
 * Records first-party provisioners read for a provision, fetched with the add-on itself in one
 * round trip (before its service is known, so for any add-on; absent for others).
 */
export interface ProvisionPrefetch {
  /** A shared PostgreSQL database's records, placed with the add-on; null if it has none. */
  postgresPlacement: Extract<TenantPlacement, { kind: 'existing' }> | null;
}

export type ProvisionOutcome =
  | {
      kind: 'provisioned';
      providerId: string | null;
      config: Record<string, string>;
      message: string | null;
      /**
       * For a provider whose config is known before its resource exists (first-party services):
       * settles once the resource does. The add-on's provisioned state is written meanwhile and
       * committed only if it resolves, so the wait and the writes overlap.
       */
      ready?: Promise<void>;
    }
  | { kind: 'pending'; providerId: string | null; message: string | null };

export type PlanChangeOutcome =
  | { kind: 'changed'; config: Record<string, string> | null; message: string | null }
  | { kind: 'pending'; message: string | null };

export type DeprovisionOutcome = { kind: 'deprovisioned' } | { kind: 'pending' };

/** The provider said no (a 4xx with a message): shown to the user, never retried. */
export class ProviderRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderRefusedError';
  }
}

/** A timeout, connection error or 5xx: worth retrying with backoff. */
export class ProviderUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderUnavailableError';
  }
}

/** Creates, changes and removes the real resource behind an add-on. */
export abstract class Provisioner {
  abstract provision(request: ProvisionRequest): Promise<ProvisionOutcome>;
  abstract changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome>;
  abstract deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome>;
}

/** Picks the provisioner for a service (a vendor over HTTP, or first-party code). */
export abstract class ProvisionerRegistry {
  abstract forService(service: AddonService): Provisioner;
  /** Sends, through `tx`, the reads a provision of the add-on may need from its provisioner (none by default). */
  prefetch(_tx: Store, _addonId: string): Promise<ProvisionPrefetch | undefined> {
    return Promise.resolve(undefined);
  }
  /**
   * Begins, from a job's head start, work the provision will need and that touches nothing
   * outside the worker (none by default). It may find the add-on's records different, or absent.
   */
  prepare(_headStart: ProvisionHeadStart): ProvisionPreparation | undefined {
    return undefined;
  }
}
