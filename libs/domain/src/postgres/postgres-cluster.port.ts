import { BackendConnection } from './postgres.models';

/** Names on the cluster of one tenant. Opaque, since every tenant can list databases and roles. */
export interface TenantNames {
  database: string;
  groupRole: string;
  ownerRole: string;
}

/**
 * Administers shared PostgreSQL clusters as their superuser. Every method is idempotent: it
 * checks what already exists and finishes what a crashed earlier call began.
 */
export abstract class PostgresClusterAdmin {
  /** One-time hardening: PUBLIC may not connect to the maintenance databases or templates. */
  abstract harden(backend: BackendConnection): Promise<void>;

  /**
   * The tenant's NOLOGIN group role (holding the database's rights and owning its public
   * schema), its login owner role (member of the group, password set to `ownerPassword`), the
   * database (owned by the superuser, so the tenant cannot lift its hard connection limit), and
   * PUBLIC's rights on the database and its public schema revoked. `ownerVerifier`, if given, is
   * `passwordVerifier(ownerPassword)`, begun beforehand (derived here if it fails).
   */
  abstract createTenant(
    backend: BackendConnection,
    tenant: TenantNames & { ownerPassword: string; ownerVerifier?: Promise<string>; connectionLimit: number },
  ): Promise<void>;

  /**
   * What the cluster stores for a login role's password (a SCRAM verifier), derived on this side
   * so the password never reaches the server. Costs a key derivation (about a millisecond of CPU,
   * off the event loop), which a caller may do ahead of `createTenant`.
   */
  abstract passwordVerifier(password: string): Promise<string>;

  /** Changes the database's connection limit in place. */
  abstract setConnectionLimit(backend: BackendConnection, database: string, limit: number): Promise<void>;

  /** A login role that may connect to the database and can do nothing else until granted. */
  abstract createCredentialRole(backend: BackendConnection, database: string, role: string, password: string): Promise<void>;

  /** Sets the role's password and terminates every session it has open. */
  abstract setPassword(backend: BackendConnection, role: string, password: string): Promise<void>;

  /** Terminates the role's sessions, drops what it owns or was granted in the database, then the role. */
  abstract dropCredentialRole(backend: BackendConnection, database: string, role: string, groupRole: string): Promise<void>;

  /** Drops the database (terminating its sessions) and every given role; nothing of the tenant remains. */
  abstract dropTenant(backend: BackendConnection, database: string, roles: string[]): Promise<void>;

  /**
   * Over the storage limit: the owner keeps SELECT, DELETE and TRUNCATE but loses CREATE and
   * INSERT (and UPDATE), in a way the tenant cannot grant back; its sessions are ended. The
   * named credentials' roles cannot log in until it is lifted.
   */
  abstract restrict(backend: BackendConnection, tenant: TenantNames, credentialRoles: string[]): Promise<void>;

  /** Lifts `restrict`. */
  abstract unrestrict(backend: BackendConnection, tenant: TenantNames, credentialRoles: string[]): Promise<void>;

  /** Size in bytes of each named database that exists. */
  abstract databaseSizes(backend: BackendConnection, databases: string[]): Promise<Map<string, number>>;

  /** Live figures for the info page. */
  abstract stats(backend: BackendConnection, database: string): Promise<{ sizeBytes: number; connections: number; tables: number; serverVersion: string }>;

  /** pg_dump in custom format into `file` (written whole or not at all); returns its size. */
  abstract dump(backend: BackendConnection, database: string, file: string): Promise<number>;

  /**
   * Loads a custom-format dump into the tenant's database, replacing what it holds; objects end
   * owned by its group role. The load runs as the tenant, never as the superuser.
   */
  abstract restore(backend: BackendConnection, tenant: TenantNames, file: string): Promise<void>;
}

/** `d_<hex>`, `g_<hex>`, `u_<hex>` from the add-on id. */
export function tenantNames(addonId: string): TenantNames {
  const hex = addonId.replace(/-/g, '').toLowerCase();
  return { database: `d_${hex}`, groupRole: `g_${hex}`, ownerRole: `u_${hex}` };
}
