/** Dedicated PostgreSQL upkeep on the `postgres-dedicated` queue, both on schedules. */
export const PG_DEDICATED_JOBS = {
  /** Dead clusters started again. */
  supervise: 'pg-dedicated-supervise',
  /** Base backups when due, archives pruned to the rollback windows, destroyed add-ons' archives removed after retention. */
  archives: 'pg-dedicated-archives',
} as const;
