import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Attache's own Kafka broker, as scripts/kafka.sh runs it: bootstrap servers and the super user. */
export interface LocalKafkaCluster {
  bootstrapServers: string;
  adminUser: 'attache';
  adminPassword: string;
}

type Env = Record<string, string | undefined>;

const DEFAULT_PORT = '9094';

/** The state directory scripts/kafka.sh uses; keep the two in step. */
function kafkaHome(env: Env): string {
  const configured = env.ATTACHE_KAFKA_HOME;
  if (configured) return resolve(configured);
  if (process.getuid?.() === 0) return '/var/lib/attache/kafka';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'attache', 'kafka');
}

/** The broker on 127.0.0.1:`ATTACHE_KAFKA_PORT` (default as the script) with the super user's password. */
export function localKafkaCluster(env: Env = process.env): LocalKafkaCluster {
  const port = env.ATTACHE_KAFKA_PORT || DEFAULT_PORT;
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65534) {
    throw new Error(`ATTACHE_KAFKA_PORT: bad port '${port}'`);
  }
  const passwordFile = join(kafkaHome(env), 'attache.password');
  let adminPassword: string;
  try {
    adminPassword = readFileSync(passwordFile, 'utf8').trim();
  } catch {
    throw new Error(`No Kafka super user password at ${passwordFile}: run scripts/kafka.sh first`);
  }
  if (!adminPassword) throw new Error(`${passwordFile} is empty: run scripts/kafka.sh first`);
  return { bootstrapServers: `127.0.0.1:${port}`, adminUser: 'attache', adminPassword };
}
