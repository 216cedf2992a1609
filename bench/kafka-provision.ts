/**
 * Kafka basic provisioning latency against the admin calls underneath it, and produce and consume
 * throughput through a tenant's credentials against the same through the super user. Starts
 * Attache's api and worker as real processes on a private database and queue prefix and registers
 * the broker scripts/kafka.sh runs (`kafka:clusters:add-local`), then:
 *
 *   1. provisioning, one at a time, interleaved so drift in the machine's speed hits both alike:
 *      - raw:        PlatformaticKafkaAdmin.createTenant for a fresh tenant with basic-0 quotas,
 *                    called from this process (the admin calls a provision makes: the SCRAM
 *                    credential on a short-lived connection, CreateAcls, AlterClientQuotas); the
 *                    tenant is dropped again, untimed;
 *      - end to end: POST /apps/{app}/addons {plan: kafka:basic-0} until the add-on is first seen
 *                    `provisioned`.
 *   2. throughput, on one kafka:basic-2 add-on: per round a topic through
 *      POST /addons/{id}/kafka/topics and one like it (partitions, configs) made directly as the
 *      super user; each principal produces the same messages to its topic (batched sends, the
 *      client's default acks), then reads them all with a new consumer group from earliest (the
 *      tenant's group under its prefix). The tenant uses its config vars alone. The order of the
 *      two alternates from round to round.
 *
 * Prints p50/p90/max of each, the ratios against their targets, where the times went, and whether
 * the broker throttled anyone. The add-ons are destroyed at the end and the broker is checked for
 * anything of the run's tenants (credential, ACLs, quotas, topics, groups).
 *
 *   npm run build && node bin/run.js bench-kafka-provision [--n 30] [--warmup 3] [--rounds 6] [--throughput-warmup 1]
 *       [--messages 200000] [--size 100] [--partitions 4] [--batch 1000] [--inflight 4]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import {
  AclOperations,
  AclPermissionTypes,
  Admin,
  ClientQuotaEntityTypes,
  ClientQuotaMatchTypes,
  Connection,
  Consumer,
  ConnectionDiagnosticEvent,
  connectionsApiChannel,
  connectionsConnectsChannel,
  describeUserScramCredentialsV0,
  MessagesStreamModes,
  MessageToProduce,
  Producer,
  protocolAPIsById,
  ResourcePatternTypes,
  ResourceTypes,
} from '@platformatic/kafka';
import { randomToken } from '@app/common';
import { localKafkaCluster } from '@app/config';
import { KafkaClusterConnection, kafkaPlanLimits } from '@app/domain';
import { jobIds } from '@app/queues';
// The adapter itself, not its module: the baseline must make exactly the calls the worker makes.
import { PlatformaticKafkaAdmin } from '../libs/provisioners/src/kafka/platformatic-kafka-admin';
import { BenchAttache } from './bench-attache';
import { addParts, arg, line, root, stats } from './bench-processes';

const N = Number(arg('n', '30'));
const WARMUP = Number(arg('warmup', '3'));
const ROUNDS = Number(arg('rounds', '6'));
const THROUGHPUT_WARMUP = Number(arg('throughput-warmup', '1'));
const MESSAGES = Number(arg('messages', '200000'));
const SIZE = Number(arg('size', '100'));
const PARTITIONS = Number(arg('partitions', '4'));
const BATCH = Number(arg('batch', '1000'));
const INFLIGHT = Number(arg('inflight', '4'));
const PROVISION_PLAN = 'basic-0';
const THROUGHPUT_PLAN = 'basic-2';
const TARGET = 1.25;
const THROUGHPUT_TARGET = 0.9;
const MiB = 1024 * 1024;
/** Past this, a produce or consume run is taken for stuck. */
const RUN_TIMEOUT_MS = 120_000;

/**
 * Where one end-to-end provision's time went, between marks from the add-on's and tenant's rows
 * (the api's and worker's clocks) and BullMQ's event stream (Redis's clock): one machine, whole ms.
 */
const PARTS = [
  ['request → add-on row', 'HTTP, auth, access check, catalog reads in the api'],
  ['→ job queued', "the api's transaction, then the enqueue"],
  ['→ job active', 'queue pickup by the worker'],
  ['→ tenant placed', "job reads; placement transaction: cluster lock, load count, name check (to its clock)"],
  ['→ admin calls done', 'tenant insert, COMMIT; createTenant (as raw); BEGIN of the final transaction (to its clock)'],
  ['→ provisioned seen', 'config vars, release, events, COMMIT, NOTIFY'],
] as const;
const ADMIN_PART = 4;
/** The requests a connect makes to authenticate, timed inside its own span. */
const INSIDE_CONNECT = /^Sasl/;

/** The requests and connects of the Kafka client in this process, timed from its diagnostics channels while a recorder is set. */
class KafkaTrace {
  private readonly started = new Map<bigint, number>();
  private recorder: { spans: Map<string, number[]>; throttleMs: number } | undefined;

  constructor() {
    const start = (ctx: ConnectionDiagnosticEvent) => {
      if (this.recorder) this.started.set(this.id(ctx), performance.now());
    };
    const done = (label: (ctx: ConnectionDiagnosticEvent) => string) => (ctx: ConnectionDiagnosticEvent) => {
      const at = this.started.get(this.id(ctx));
      if (at === undefined || !this.recorder) return;
      this.started.delete(this.id(ctx));
      const spans = this.recorder.spans;
      const key = label(ctx);
      spans.set(key, [...(spans.get(key) ?? []), performance.now() - at]);
      const throttle = (ctx.result as { throttleTimeMs?: unknown } | undefined)?.throttleTimeMs;
      if (typeof throttle === 'number') this.recorder.throttleMs += throttle;
    };
    connectionsConnectsChannel.start.subscribe(start as (message: unknown) => void);
    connectionsConnectsChannel.asyncStart.subscribe(done(() => 'connect (TCP, SASL SCRAM-SHA-512)') as (message: unknown) => void);
    connectionsApiChannel.start.subscribe(start as (message: unknown) => void);
    connectionsApiChannel.asyncStart.subscribe(done((ctx) => protocolAPIsById[Number(ctx.apiKey)] ?? `api ${String(ctx.apiKey)}`) as (message: unknown) => void);
  }

  private id(ctx: ConnectionDiagnosticEvent): bigint {
    return (ctx as unknown as { operationId: bigint }).operationId;
  }

  /** Runs `fn` with every request and connect it makes timed: span ms by label, and the throttle time the broker reported. */
  async record<T>(fn: () => Promise<T>): Promise<{ result: T; spans: Map<string, number[]>; throttleMs: number }> {
    const recorder = { spans: new Map<string, number[]>(), throttleMs: 0 };
    this.recorder = recorder;
    try {
      return { result: await fn(), ...recorder };
    } finally {
      this.recorder = undefined;
      this.started.clear();
    }
  }
}

/** How a client reaches the broker as one principal. */
interface Principal {
  label: 'tenant' | 'admin';
  brokers: string[];
  username: string;
  password: string;
  /** Topics and groups of the run are named under it. */
  prefix: string;
}

/** A principal from an app's config vars alone, as an app would read them (the `kafka://` scheme stripped from KAFKA_URL). */
function fromConfigVars(vars: Record<string, string>): Principal {
  const get = (name: string) => {
    const value = vars[`KAFKA_${name}`];
    if (value === undefined) throw new Error(`KAFKA_${name} is not set (have ${Object.keys(vars).join(', ')})`);
    return value;
  };
  if (get('SASL_MECHANISM') !== 'SCRAM-SHA-512') throw new Error(`unexpected KAFKA_SASL_MECHANISM ${get('SASL_MECHANISM')}`);
  return {
    label: 'tenant',
    brokers: get('URL')
      .split(',')
      .map((u) => u.replace(/^kafka(\+ssl)?:\/\//, '')),
    username: get('USERNAME'),
    password: get('PASSWORD'),
    prefix: get('PREFIX'),
  };
}

const clientOptions = (principal: Principal, role: string) => ({
  clientId: `bench-${role}-${principal.label}`,
  bootstrapBrokers: principal.brokers,
  sasl: { mechanism: 'SCRAM-SHA-512' as const, username: principal.username, password: principal.password },
  connectTimeout: 10_000,
  requestTimeout: 30_000,
});

interface Run {
  ms: number;
  /** Summed over the broker's responses: non-zero when a quota held the principal back. */
  throttleMs: number;
}
interface ConsumeRun extends Run {
  /** From the consume call (group join, offsets, first fetch) to the first message. */
  firstMs: number;
}

/** Sends the batches with `INFLIGHT` sends at a time on one producer, connected beforehand (untimed). */
async function produce(trace: KafkaTrace, principal: Principal, topic: string): Promise<Run> {
  const value = randomBytes(SIZE);
  const batches: MessageToProduce[][] = [];
  for (let i = 0; i < MESSAGES; i += BATCH) {
    batches.push(Array.from({ length: Math.min(BATCH, MESSAGES - i) }, (_, k) => ({ topic, partition: (i + k) % PARTITIONS, value })));
  }
  const producer = new Producer(clientOptions(principal, 'producer'));
  try {
    await producer.metadata({ topics: [topic], forceUpdate: true });
    let next = 0;
    const sender = async () => {
      while (next < batches.length) await producer.send({ messages: batches[next++] });
    };
    const t0 = performance.now();
    const { throttleMs } = await trace.record(() => Promise.all(Array.from({ length: INFLIGHT }, sender)));
    return { ms: performance.now() - t0, throttleMs };
  } finally {
    await producer.close().catch(() => undefined);
  }
}

/** Reads every message of the topic as a new group from earliest; the consumer connected beforehand (untimed), the group's join timed. */
async function consume(trace: KafkaTrace, principal: Principal, topic: string, groupId: string): Promise<ConsumeRun> {
  const consumer = new Consumer({ ...clientOptions(principal, 'consumer'), groupId });
  try {
    await consumer.metadata({ topics: [topic], forceUpdate: true });
    const t0 = performance.now();
    let first = NaN;
    const { throttleMs } = await trace.record(async () => {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${principal.label} read too few messages of ${topic} in ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
          let read = 0;
          stream.on('data', () => {
            if (read++ === 0) first = performance.now();
            if (read === MESSAGES) {
              clearTimeout(timer);
              resolve();
            }
          });
          stream.once('error', (error: Error) => {
            clearTimeout(timer);
            reject(error);
          });
        });
      } finally {
        await stream.close().catch(() => undefined);
      }
    });
    return { ms: performance.now() - t0, firstMs: first - t0, throttleMs };
  } finally {
    await consumer.close().catch(() => undefined);
  }
}

/** Kafka error ids (`RESOURCE_NOT_FOUND`, …) anywhere in a client error. */
function kafkaErrors(error: unknown): string[] {
  const ids: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (typeof e !== 'object' || e === null || depth > 6) return;
    if ('apiId' in e && typeof e.apiId === 'string') ids.push(e.apiId);
    if ('errors' in e && Array.isArray(e.errors)) for (const inner of e.errors) visit(inner, depth + 1);
    if ('cause' in e) visit(e.cause, depth + 1);
  };
  visit(error, 0);
  return ids;
}

/** What is left on the broker of a tenant: its credential, ACLs, quotas, topics and groups. */
async function leftOnBroker(admin: Admin, cluster: KafkaClusterConnection, tenant: { username: string; prefix: string }): Promise<string[]> {
  const left: string[] = [];
  const acls = await admin.describeAcls({
    filter: {
      resourceType: ResourceTypes.ANY,
      resourceName: null,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal: `User:${tenant.username}`,
      host: null,
      operation: AclOperations.ANY,
      permissionType: AclPermissionTypes.ANY,
    },
  });
  const bindings = acls.reduce((sum, r) => sum + r.acls.length, 0);
  if (bindings > 0) left.push(`${bindings} ACLs`);
  const quotas = await admin.describeClientQuotas({
    components: [{ entityType: ClientQuotaEntityTypes.USER, matchType: ClientQuotaMatchTypes.EXACT, match: tenant.username }],
  });
  if (quotas.length > 0) left.push('quotas');
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(tenant.prefix));
  if (topics.length > 0) left.push(`topics ${topics.join(', ')}`);
  const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(tenant.prefix));
  if (groups.length > 0) left.push(`groups ${groups.join(', ')}`);
  const [host, port] = cluster.bootstrapServers.split(':');
  const conn = new Connection('bench-check', { sasl: { mechanism: 'SCRAM-SHA-512', username: cluster.adminUser, password: cluster.adminPassword } });
  conn.on('error', () => undefined);
  try {
    await conn.connect(host, Number(port));
    const described = await describeUserScramCredentialsV0.api.async(conn, [{ name: tenant.username }]);
    if (described.results.some((r) => r.credentialInfos.length > 0)) left.push('credential');
  } catch (error) {
    // RESOURCE_NOT_FOUND: no credential, as it should be.
    if (!kafkaErrors(error).includes('RESOURCE_NOT_FOUND')) left.push(`credential unknown (${(error as Error).message})`);
  } finally {
    await conn.close().catch(() => undefined);
  }
  return left;
}

const rate = (count: number, ms: number) => count / (ms / 1000);

async function main(): Promise<void> {
  const backupDir = mkdtempSync(join(tmpdir(), 'attache-bench-backups-'));
  // The adapter logs each tenant it drops through Nest's logger; the figures are the output here.
  Logger.overrideLogger(['error', 'warn']);
  const local = localKafkaCluster();
  const cluster: KafkaClusterConnection = { id: 'bench', name: 'local', ...local };
  const kafkaAdmin = new PlatformaticKafkaAdmin();
  const superAdmin = new Admin({
    clientId: 'bench-super',
    bootstrapBrokers: [local.bootstrapServers],
    sasl: { mechanism: 'SCRAM-SHA-512', username: local.adminUser, password: local.adminPassword },
  });
  const trace = new KafkaTrace();
  const runId = randomBytes(4).toString('hex');
  /** Every raw tenant made (each dropped in its round, checked again at the end); the add-ons' tenants, read from the database before it goes. */
  const rawMade: { username: string; prefix: string }[] = [];
  let addonTenants: { username: string; prefix: string }[] = [];
  /** The super user's topics and groups of the throughput runs, under a prefix of their own. */
  const adminPrefix = `attache-bench-${runId}.`;
  const adminTopics = new Set<string>();
  const attache = await BenchAttache.open({ backupDir });
  try {
    await attache.start(['kafka:clusters:add-local']);
    const { db } = attache;
    const clusters = (await db.query<{ bootstrap_servers: string }>('SELECT bootstrap_servers FROM kafka_clusters')).rows;
    if (clusters.length !== 1 || clusters[0].bootstrap_servers !== local.bootstrapServers) {
      throw new Error(`expected the one cluster the bench registered, found ${JSON.stringify(clusters)}`);
    }
    const provisioned = await attache.listenProvisioned();
    const apps: string[] = [];
    for (let i = 0; i < N + WARMUP; i++) apps.push(await attache.createApp());

    // --- 1. provisioning -------------------------------------------------------------------
    const basic0 = kafkaPlanLimits({ name: PROVISION_PLAN });
    const limits = { producerByteRate: basic0.producerByteRate, consumerByteRate: basic0.consumerByteRate };
    const raw: number[] = [];
    /** Per label, the round's summed ms of each round it appeared in; per round, the ms of every request and connect outside connects. */
    const rawSpans = new Map<string, number[]>();
    const rawTraced: number[] = [];
    const endToEnd: number[] = [];
    const post: number[] = [];
    const measured: { id: string; total: number; wall0: number }[] = [];
    for (let i = 0; i < WARMUP + N; i++) {
      const counted = i >= WARMUP;

      // Not the provisioner's `<word>-<digits>` names: those could be another run's tenants on the same broker.
      const username = `bench-raw-${randomBytes(5).toString('hex')}`;
      const tenant = { username, password: randomToken(40), prefix: `${username}.`, limits };
      rawMade.push(tenant);
      const t0 = performance.now();
      const { spans } = await trace.record(() => kafkaAdmin.createTenant(cluster, tenant));
      const took = performance.now() - t0;
      if (counted) {
        raw.push(took);
        let traced = 0;
        for (const [label, values] of spans) {
          const sum = values.reduce((a, b) => a + b, 0);
          rawSpans.set(label, [...(rawSpans.get(label) ?? []), sum]);
          if (!INSIDE_CONNECT.test(label)) traced += sum;
        }
        rawTraced.push(traced);
      }
      await kafkaAdmin.dropTenant(cluster, tenant);

      const run = await attache.createAddon(apps[i], `kafka:${PROVISION_PLAN}`, provisioned);
      if (!counted) continue;
      endToEnd.push(run.total);
      post.push(run.post);
      measured.push({ id: run.id, total: run.total, wall0: run.wall0 });
    }

    const queued = await attache.queueMarks();
    const parts: number[][] = PARTS.map(() => []);
    for (const { id, total, wall0 } of measured) {
      const { rows } = await db.query<{ created: Date; placed: Date; finished: Date }>(
        `SELECT a.created_at AS created, t.created_at AS placed, a.provisioned_at AS finished
           FROM addons a JOIN kafka_tenants t ON t.addon_id = a.id WHERE a.id = $1`,
        [id],
      );
      const { added, active } = queued.get(jobIds.provision(id)) ?? {};
      if (added === undefined || active === undefined) throw new Error(`no queue events for ${id}`);
      const marks = [rows[0].created.getTime(), added, active, rows[0].placed.getTime(), rows[0].finished.getTime()].map((at) => at - wall0);
      marks.push(total);
      addParts(parts, marks);
    }

    // --- 2. throughput ---------------------------------------------------------------------
    const basic2 = kafkaPlanLimits({ name: THROUGHPUT_PLAN });
    if (PARTITIONS > basic2.partitionsPerTopic) throw new Error(`--partitions ${PARTITIONS}: kafka:${THROUGHPUT_PLAN} allows ${basic2.partitionsPerTopic}`);
    const throughputApp = await attache.createApp();
    const throughputAddon = await attache.createAddon(throughputApp, `kafka:${THROUGHPUT_PLAN}`, provisioned);
    const tenant = fromConfigVars((await (await attache.fetch(`/apps/${throughputApp}/config-vars`)).json()) as Record<string, string>);
    const admin: Principal = { label: 'admin', brokers: [local.bootstrapServers], username: local.adminUser, password: local.adminPassword, prefix: adminPrefix };
    const runs = { tenant: { produce: [] as Run[], consume: [] as ConsumeRun[] }, admin: { produce: [] as Run[], consume: [] as ConsumeRun[] } };
    let topicConfig = '';
    for (let r = 0; r < THROUGHPUT_WARMUP + ROUNDS; r++) {
      const counted = r >= THROUGHPUT_WARMUP;
      const name = `bench-${r}`;
      const created = await attache.fetch(`/addons/${throughputAddon.id}/kafka/topics`, { method: 'POST', body: JSON.stringify({ name, partitions: PARTITIONS }) });
      const body = (await created.json()) as { full_name: string; partitions: number; retention_ms: number; retention_bytes: number; compaction: boolean };
      if (created.status !== 201) throw new Error(`topic create failed: ${created.status} ${JSON.stringify(body)}`);
      const adminTopic = `${adminPrefix}${name}`;
      adminTopics.add(adminTopic);
      await kafkaAdmin.createTopic(cluster, {
        name: adminTopic,
        partitions: body.partitions,
        retentionMs: body.retention_ms,
        retentionBytes: body.retention_bytes,
        compaction: body.compaction,
      });
      // listTopics takes a prefix: `bench-1` would also find `bench-10`.
      const described = async (topic: string) => (await kafkaAdmin.listTopics(cluster, topic)).find((t) => t.name === topic)!;
      const [tenantInfo, adminInfo] = [await described(body.full_name), await described(adminTopic)];
      const shown = (info: typeof tenantInfo) => JSON.stringify({ partitions: info.partitions, ...info.config });
      if (shown(tenantInfo) !== shown(adminInfo)) throw new Error(`the two topics differ: tenant ${shown(tenantInfo)}, admin ${shown(adminInfo)}`);
      topicConfig = `${tenantInfo.partitions} partitions, ${Object.entries(tenantInfo.config)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`;

      const order: [Principal, string][] = [
        [tenant, body.full_name],
        [admin, adminTopic],
      ];
      if (r % 2 === 1) order.reverse();
      const produced = new Map<string, Run>();
      for (const [principal, topic] of order) produced.set(principal.label, await produce(trace, principal, topic));
      const consumed = new Map<string, ConsumeRun>();
      for (const [principal, topic] of order) {
        consumed.set(principal.label, await consume(trace, principal, topic, `${principal.prefix}bench-group-${r}`));
      }
      if (counted) {
        for (const label of ['tenant', 'admin'] as const) {
          runs[label].produce.push(produced.get(label)!);
          runs[label].consume.push(consumed.get(label)!);
        }
      }
      const deleted = await attache.fetch(`/addons/${throughputAddon.id}/kafka/topics/${name}`, { method: 'DELETE' });
      if (!deleted.ok) throw new Error(`topic delete failed: ${deleted.status} ${await deleted.text()}`);
      await kafkaAdmin.deleteTopic(cluster, adminTopic);
      adminTopics.delete(adminTopic);
    }

    // --- report ----------------------------------------------------------------------------
    const ratio = stats(endToEnd).p50 / stats(raw).p50;
    const spanLines = [...rawSpans.entries()].map(([label, values]) => {
      const s = stats(values);
      const notes = [INSIDE_CONNECT.test(label) ? 'inside connect' : '', values.length < N ? `in ${values.length} of ${N} rounds` : ''].filter(Boolean);
      return `    ${label.padEnd(34)} ${s.p50.toFixed(1).padStart(6)} / ${s.p90.toFixed(1).padStart(6)}${notes.length ? `   (${notes.join('; ')})` : ''}`;
    });
    const untraced = stats(raw.map((ms, k) => ms - rawTraced[k]));
    const throughputLines = (kind: 'produce' | 'consume') => {
      const lines: string[] = [];
      const msgs = { tenant: runs.tenant[kind].map((x) => rate(MESSAGES, x.ms)), admin: runs.admin[kind].map((x) => rate(MESSAGES, x.ms)) };
      for (const label of ['tenant', 'admin'] as const) {
        const m = stats(msgs[label]);
        const throttled = runs[label][kind].reduce((sum, x) => sum + x.throttleMs, 0);
        const join = kind === 'consume' ? `; to first message p50 ${stats(runs[label].consume.map((x) => x.firstMs)).p50.toFixed(0)} ms` : '';
        lines.push(
          `  ${`${kind} as ${label}`.padEnd(20)} p50 ${m.p50.toFixed(0).padStart(7)} msg/s ${((m.p50 * SIZE) / MiB).toFixed(1).padStart(6)} MiB/s   (rounds ${msgs[label].map((v) => v.toFixed(0)).join(', ')})${join}; broker throttle ${throttled.toFixed(0)} ms`,
        );
      }
      const ratioT = stats(msgs.tenant).p50 / stats(msgs.admin).p50;
      lines.push(`  ratio tenant / admin ${kind} at p50: ${ratioT.toFixed(2)} (target ≥ ${THROUGHPUT_TARGET}: ${ratioT >= THROUGHPUT_TARGET ? 'met' : 'NOT met'})`);
      return lines;
    };
    const payloadMiB = (MESSAGES * SIZE) / MiB;
    const pom = readFileSync(join(root, 'scripts', 'kafka', 'pom.xml'), 'utf8').match(/<kafka\.version>([^<]+)</)?.[1] ?? '?';
    const cpu = cpus();
    process.stdout.write(
      [
        `machine: ${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}; Kafka ${pom}, one broker at ${local.bootstrapServers} (SASL SCRAM-SHA-512, plaintext)`,
        `kafka provisioning: ${N} ${PROVISION_PLAN} tenants one at a time, after ${WARMUP} warm-up rounds; provisioned seen by LISTEN`,
        line('raw createTenant', raw),
        line('end to end (API → seen)', endToEnd),
        line('  of which POST until 201', post),
        `  ratio end to end / raw createTenant at p50: ${ratio.toFixed(2)} (target ≤ ${TARGET}: ${ratio <= TARGET ? 'met' : 'NOT met'})`,
        `  raw createTenant by request, p50 / p90 ms (summed per round; timed from the client's diagnostics channels):`,
        ...spanLines,
        `    ${'the rest'.padEnd(34)} ${untraced.p50.toFixed(1).padStart(6)} / ${untraced.p90.toFixed(1).padStart(6)}   (PBKDF2 of the new credential, closing the connection, the client's own work)`,
        `  end to end by part, p50 / p90 ms (marks in whole ms):`,
        ...PARTS.map(([label, what], k) => {
          const s = stats(parts[k]);
          return `    ${label.padEnd(22)} ${s.p50.toFixed(0).padStart(4)} / ${s.p90.toFixed(0).padStart(4)}   ${what}`;
        }),
        `    end to end p50 − raw p50: ${(stats(endToEnd).p50 - stats(raw).p50).toFixed(1)} ms around the admin calls; "→ admin calls done" p50 − raw p50: ${(stats(parts[ADMIN_PART]).p50 - stats(raw).p50).toFixed(1)} ms`,
        `kafka throughput: ${ROUNDS} rounds after ${THROUGHPUT_WARMUP} warm-up, each ${MESSAGES} messages of ${SIZE} bytes (${payloadMiB.toFixed(1)} MiB of values, no keys) per principal, to a fresh topic each (${topicConfig})`,
        `  produce: one producer, sends of ${BATCH} messages, ${INFLIGHT} in flight, the client's default acks (1, leader); consume: a new consumer group from earliest until all are read`,
        `  (timed from the consume call, so including the group's join and the decoding of the first fetch of up to 10 MiB, shown as "to first message"); the order alternates by round`,
        `  tenant: kafka:${THROUGHPUT_PLAN} through its config vars alone, group under its prefix; quotas ${basic2.producerByteRate / MiB} MiB/s produce, ${basic2.consumerByteRate / MiB} MiB/s fetch per broker.`,
        `  The broker averages quota use over its last 11 one-second windows (over at least 10 s), so a round's ${payloadMiB.toFixed(1)} MiB counts as at most ~${(payloadMiB / 10).toFixed(1)} MiB/s:`,
        `  these figures are the data path's (authentication, ACL checks), not the quotas'; a stream sustained past them would be held to them (the super user has no quota).`,
        `  "broker throttle" sums the throttle times in the broker's responses to that principal's runs`,
        ...throughputLines('produce'),
        ...throughputLines('consume'),
      ].join('\n') + '\n',
    );
  } finally {
    try {
      addonTenants = (await attache.db.query<{ username: string; prefix: string }>('SELECT username, prefix FROM kafka_tenants')).rows;
    } catch {
      // Never started.
    }
    // The add-ons as a user would destroy them, then the worker drops their tenants.
    await attache.stop('kafka_tenants', 'dropping their tenants directly');
    // What is left (a raw tenant of a failed round, anything of an add-on the worker did not get to) goes here.
    const stragglers: string[] = [];
    const checked = [...rawMade, ...addonTenants];
    for (const t of checked) {
      const left = await leftOnBroker(superAdmin, cluster, t).catch((error: Error) => [`(could not check: ${error.message})`]);
      if (left.length === 0) continue;
      stragglers.push(`${t.username}: ${left.join(', ')}`);
      await kafkaAdmin.dropTenant(cluster, t).catch((error: Error) => process.stderr.write(`could not drop ${t.username}: ${error.message}\n`));
    }
    if (stragglers.length > 0) process.stderr.write(`${stragglers.length} tenants outlived the run; dropped them directly:\n  ${stragglers.join('\n  ')}\n`);
    for (const topic of adminTopics) await kafkaAdmin.deleteTopic(cluster, topic).catch((error: Error) => process.stderr.write(`could not delete ${topic}: ${error.message}\n`));
    // The tenant's groups went with its tenant; the super user's are the run's to delete (an empty group without offsets is gone already).
    for (const group of [...(await superAdmin.listGroups().catch(() => new Map<string, unknown>())).keys()].filter((g) => g.startsWith(adminPrefix))) {
      await superAdmin.deleteGroups({ groups: [group] }).catch((error: Error) => {
        const ids = kafkaErrors(error);
        if (ids.length === 0 || ids.some((id) => id !== 'GROUP_ID_NOT_FOUND')) process.stderr.write(`could not delete ${group}: ${error.message} (${ids.join(', ')})\n`);
      });
    }
    const adminLeft = [
      ...(await superAdmin.listTopics().catch(() => [])).filter((t) => t.startsWith(adminPrefix)),
      ...[...(await superAdmin.listGroups().catch(() => new Map<string, unknown>())).keys()].filter((g) => g.startsWith(adminPrefix)),
    ];
    if (adminLeft.length > 0) process.stderr.write(`left on the broker: ${adminLeft.join(', ')}\n`);
    if (checked.length > 0 && stragglers.length === 0 && adminLeft.length === 0) {
      process.stdout.write(
        `cleanup: ${addonTenants.length} add-ons destroyed over the API, their tenants dropped by the worker; nothing of them, of the ${rawMade.length} raw tenants or of the super user's topics and groups is left on the broker\n`,
      );
    }
    await kafkaAdmin.onModuleDestroy();
    await superAdmin.close().catch(() => undefined);
    await attache.dispose();
    rmSync(backupDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
