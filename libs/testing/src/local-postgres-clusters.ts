import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const SCRIPT = resolve(__dirname, '../../../scripts/postgres-clusters.sh');

/** Starts (or reuses) the local shared clusters; a no-op costing a few milliseconds when they already run. */
export function ensureLocalPostgresClusters(): void {
  execFileSync('bash', [SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'], timeout: 5 * 60_000 });
}
