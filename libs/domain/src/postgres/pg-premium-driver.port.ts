import { PgClusterSpec } from './pg-dedicated.models';

/** A premium cluster: a pg_auto_failover monitor and two nodes; `port` is the current primary's. */
export interface PgPremiumSpec extends PgClusterSpec {
  monitorPort: number;
  nodePorts: [number, number];
}

/** One node of the formation as the monitor sees it. */
export interface PgPremiumNode {
  port: number;
  /** The state the node reported last (`primary`, `secondary`, `wait_primary`, `catchingup`, ...). */
  state: string;
  /** The state the monitor assigned it. */
  goal: string;
  healthy: boolean;
  /** WAL between the primary's reported position and this node's (0 for the primary). */
  lagBytes: number;
}

export interface PgPremiumState {
  /** The node that accepts writes now, per the monitor; null while a failover is under way. */
  primaryPort: number | null;
  nodes: PgPremiumNode[];
}

/**
 * Runs premium (dedicated with a standby) PostgreSQL: a pg_auto_failover monitor and two keepers,
 * a primary and a streaming standby, which the monitor fails over on its own. Idempotent like
 * `PgClusterDriver`; base backups, archives, forks and rollbacks of a premium cluster go through
 * `PgClusterDriver` with the spec's `port` (the primary) and share its archive layout. `ensure`,
 * `start` and `remove` of one formation run one at a time across every process driving the host
 * (and apart from `PgClusterDriver`'s operations on the same cluster), and a formation whose
 * removal began is never created or started again, so supervision racing a deprovision in
 * another worker leaves nothing behind.
 */
export abstract class PgPremiumDriver {
  /**
   * Makes the host run the formation: adopts running processes, starts stopped ones, creates
   * missing ones (a new empty cluster), then the tenant's owner role and database on the primary.
   * Resolves once the primary accepts connections and the standby streams from it, the monitor
   * having settled both (the primary in `primary`, replicating synchronously). Fails for a
   * formation whose removal began.
   */
  abstract ensure(spec: PgPremiumSpec): Promise<void>;

  /**
   * Supervision: starts the monitor and keepers that are not running, except a dead primary's
   * while the monitor is failing over to a healthy standby (it rejoins as the standby after).
   * Never creates a formation. `removed` (nothing started) once the formation's removal began.
   */
  abstract start(spec: PgPremiumSpec): Promise<'running' | 'removed'>;

  /** The monitor and both keepers live. */
  abstract isHealthy(spec: PgPremiumSpec): Promise<boolean>;

  /** The formation as its monitor sees it. */
  abstract state(spec: PgPremiumSpec): Promise<PgPremiumState>;

  /**
   * Stops the monitor and keepers and removes their data directories; the archive stays. Every
   * port is free afterwards. From its first step on, the formation is never created or started again.
   */
  abstract remove(spec: Pick<PgPremiumSpec, 'key' | 'monitorPort' | 'nodePorts'>): Promise<void>;
}
