import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** One of Attache's own shared PostgreSQL clusters, as scripts/postgres-clusters.sh lays it out. */
export interface LocalPostgresCluster {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
}

const DEFAULT_CLUSTERS = 'shared-1:5441 shared-2:5442';
type Env = Record<string, string | undefined>;

/** The base directory scripts/postgres-clusters.sh uses; keep the two in step. */
function clustersDir(env: Env): string {
  const configured = env.ATTACHE_POSTGRES_CLUSTERS_DIR;
  if (configured) return resolve(configured);
  if (process.getuid?.() === 0) return '/var/lib/attache/postgres';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'attache', 'postgres');
}

/** The clusters named in `ATTACHE_POSTGRES_CLUSTERS` (default as the script), with their superuser password. */
export function localPostgresClusters(env: Env = process.env): LocalPostgresCluster[] {
  const base = clustersDir(env);
  const specs = (env.ATTACHE_POSTGRES_CLUSTERS || DEFAULT_CLUSTERS).split(/\s+/).filter(Boolean);
  return specs.map((spec) => {
    const match = /^([A-Za-z0-9][A-Za-z0-9_-]*):(\d{1,5})$/.exec(spec);
    if (!match) throw new Error(`ATTACHE_POSTGRES_CLUSTERS: bad entry '${spec}', expected name:port`);
    const [, name, port] = match;
    const passwordFile = join(base, name, 'superuser.password');
    let password: string;
    try {
      password = readFileSync(passwordFile, 'utf8').trim();
    } catch {
      throw new Error(`No password at ${passwordFile}: run scripts/postgres-clusters.sh first`);
    }
    return { name, host: '127.0.0.1', port: Number(port), user: 'postgres', password };
  });
}
