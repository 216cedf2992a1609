import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  type Acl,
  AclOperations,
  type AclOperationValue,
  AclPermissionTypes,
  Admin,
  alterUserScramCredentialsV0,
  ClientQuotaEntityTypes,
  ClientQuotaKeys,
  ConfigResourceTypes,
  ConfigSources,
  Connection,
  describeUserScramCredentialsV0,
  IncrementalAlterConfigOperationTypes,
  ListOffsetTimestamps,
  ResourcePatternTypes,
  ResourceTypes,
  type ResourceTypeValue,
  ScramMechanisms,
} from '@platformatic/kafka';
import {
  KafkaClusterAdmin,
  KafkaClusterConnection,
  KafkaGroupLag,
  KafkaTenantLimits,
  KafkaTopicCounters,
  KafkaTopicInfo,
  KafkaTopicSpec,
} from '@app/domain';

const pbkdf2Async = promisify(pbkdf2);

const CLIENT_ID = 'attache-admin';
/** Kafka accepts 4096–16384 (ScramMechanism); the minimum keeps provisioning fast and is what the broker's own tools use. */
const SCRAM_ITERATIONS = 8192;
const REQUEST_TIMEOUT_MS = 10_000;
/** Admin retries only for retriable protocol errors (leader moves, coordinator loading). */
const RETRIES = 3;
const RETRY_DELAY_MS = 250;
/** Settings the topic view always shows, set or inherited. */
const SHOWN_TOPIC_CONFIGS = ['retention.ms', 'retention.bytes', 'cleanup.policy'];

/** What a tenant may do under its prefix: produce, consume, commit, transactions; never create, delete or alter. */
const TENANT_GRANTS: [ResourceTypeValue, AclOperationValue[]][] = [
  [ResourceTypes.TOPIC, [AclOperations.READ, AclOperations.WRITE, AclOperations.DESCRIBE, AclOperations.DESCRIBE_CONFIGS]],
  [ResourceTypes.GROUP, [AclOperations.READ, AclOperations.DESCRIBE, AclOperations.DELETE]],
  [ResourceTypes.TRANSACTIONAL_ID, [AclOperations.WRITE, AclOperations.DESCRIBE]],
];

const principal = (username: string) => `User:${username}`;

function tenantAcls(username: string, prefix: string): Acl[] {
  return TENANT_GRANTS.flatMap(([resourceType, operations]) =>
    operations.map((operation) => ({
      resourceType,
      resourceName: prefix,
      resourcePatternType: ResourcePatternTypes.PREFIXED,
      principal: principal(username),
      host: '*',
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    })),
  );
}

/** Kafka's smallest `segment.bytes`. */
const MIN_SEGMENT_BYTES = 1024 * 1024;

/**
 * Retention acts on closed segments only, so segments are kept at a quarter of the retention
 * (size and time): a partition then holds at most about 1.25 × `retention.bytes`, and data
 * outlives `retention.ms` by at most a quarter of it. Compaction keeps `delete` too, so
 * compacted topics stay within the same bounds.
 */
function topicConfigs(config: Partial<Pick<KafkaTopicSpec, 'retentionMs' | 'retentionBytes' | 'compaction'>>): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  if (config.retentionMs !== undefined) {
    const ms = Math.trunc(config.retentionMs);
    out.push({ name: 'retention.ms', value: String(ms) }, { name: 'segment.ms', value: String(Math.max(1, Math.floor(ms / 4))) });
  }
  if (config.retentionBytes !== undefined) {
    const bytes = Math.trunc(config.retentionBytes);
    out.push({ name: 'retention.bytes', value: String(bytes) }, { name: 'segment.bytes', value: String(Math.max(MIN_SEGMENT_BYTES, Math.floor(bytes / 4))) });
  }
  if (config.compaction !== undefined) out.push({ name: 'cleanup.policy', value: config.compaction ? 'compact,delete' : 'delete' });
  return out;
}

/** Kafka error ids (`TOPIC_ALREADY_EXISTS`, …) carried by a platformatic error or the errors it aggregates. */
function apiIds(error: unknown): string[] {
  const ids: string[] = [];
  const visit = (e: unknown, depth: number) => {
    if (typeof e !== 'object' || e === null || depth > 4) return;
    if ('apiId' in e && typeof e.apiId === 'string') ids.push(e.apiId);
    if ('kafkaErrors' in e && Array.isArray(e.kafkaErrors)) ids.push(...e.kafkaErrors.filter((id): id is string => typeof id === 'string'));
    if ('errors' in e && Array.isArray(e.errors)) for (const inner of e.errors) visit(inner, depth + 1);
    if ('cause' in e) visit(e.cause, depth + 1);
  };
  visit(error, 0);
  return ids;
}

function hasOnly(error: unknown, accepted: string[]): boolean {
  const ids = apiIds(error);
  return ids.length > 0 && ids.every((id) => accepted.includes(id));
}

/** Rebuilds the error from its message and Kafka error ids only, with secrets cut out (errors can carry request options). */
function scrubbed(error: unknown, action: string, secrets: string[]): Error {
  const ids = apiIds(error);
  const inner = ids.length ? ` (${[...new Set(ids)].join(', ')})` : '';
  let message = `${action} failed: ${error instanceof Error ? error.message : String(error)}${inner}`;
  for (const secret of secrets.filter(Boolean)) message = message.split(secret).join('[redacted]');
  return Object.assign(new Error(message), ids.length ? { kafkaErrors: [...new Set(ids)] } : {});
}

function bootstrapBrokers(cluster: KafkaClusterConnection): { host: string; port: number }[] {
  const servers = cluster.bootstrapServers.split(',').map((s) => s.trim()).filter(Boolean);
  const brokers = servers.map((server) => /^(.+):(\d{1,5})$/.exec(server));
  if (!brokers.length || brokers.some((m) => !m)) throw new Error(`Kafka cluster ${cluster.id}: bad bootstrap servers '${cluster.bootstrapServers}'`);
  return brokers.map((m) => ({ host: m![1].replace(/^\[(.*)\]$/, '$1'), port: Number(m![2]) }));
}

/**
 * KafkaClusterAdmin over @platformatic/kafka. Topics, ACLs, quotas, configs, groups and log dirs go
 * through one Admin client per cluster; SCRAM credentials through the low-level
 * AlterUserScramCredentials API on a short-lived Connection (1.x has no Admin method for it).
 */
@Injectable()
export class PlatformaticKafkaAdmin extends KafkaClusterAdmin implements OnModuleDestroy {
  private readonly logger = new Logger(PlatformaticKafkaAdmin.name);
  private readonly admins = new Map<string, { fingerprint: string; admin: Admin }>();

  async onModuleDestroy(): Promise<void> {
    const admins = [...this.admins.values()].map(({ admin }) => admin.close());
    this.admins.clear();
    await Promise.allSettled(admins);
  }

  async createTenant(
    cluster: KafkaClusterConnection,
    tenant: { username: string; password: string; prefix: string; limits: KafkaTenantLimits },
  ): Promise<void> {
    this.checkPrefix(tenant.prefix);
    await this.upsertCredential(cluster, tenant.username, tenant.password);
    // CreateAcls is idempotent on the broker: an ACL that exists is not added twice.
    await this.call(cluster, 'Creating ACLs', (admin) => admin.createAcls({ creations: tenantAcls(tenant.username, tenant.prefix) }));
    await this.setLimits(cluster, tenant.username, tenant.limits);
  }

  async setPassword(cluster: KafkaClusterConnection, username: string, password: string): Promise<void> {
    if (!(await this.credentialExists(cluster, username))) throw new Error(`Kafka user ${username} does not exist`);
    await this.upsertCredential(cluster, username, password);
  }

  async setLimits(cluster: KafkaClusterConnection, username: string, limits: KafkaTenantLimits): Promise<void> {
    await this.call(cluster, 'Setting quotas', (admin) =>
      admin.alterClientQuotas({
        entries: [
          {
            entities: [{ entityType: ClientQuotaEntityTypes.USER, entityName: username }],
            ops: [
              { key: ClientQuotaKeys.PRODUCER_BYTE_RATE, value: limits.producerByteRate, remove: false },
              { key: ClientQuotaKeys.CONSUMER_BYTE_RATE, value: limits.consumerByteRate, remove: false },
            ],
          },
        ],
      }),
    );
  }

  /**
   * Access goes first (ACLs take effect on the tenant's next request, the credential at its next
   * login), so the tenant cannot race the cleanup; then its topics, groups and quotas.
   */
  async dropTenant(cluster: KafkaClusterConnection, tenant: { username: string; prefix: string }): Promise<void> {
    this.checkPrefix(tenant.prefix);
    await this.call(cluster, 'Deleting ACLs', (admin) =>
      admin.deleteAcls({
        filters: [
          {
            resourceType: ResourceTypes.ANY,
            resourceName: null,
            resourcePatternType: ResourcePatternTypes.ANY,
            principal: principal(tenant.username),
            host: null,
            operation: AclOperations.ANY,
            permissionType: AclPermissionTypes.ANY,
          },
        ],
      }),
    );
    if (await this.credentialExists(cluster, tenant.username)) {
      await this.scram(cluster, 'Deleting the credential', [], (conn) =>
        alterUserScramCredentialsV0.api.async(conn, [{ name: tenant.username, mechanism: ScramMechanisms.SCRAM_SHA_512 }], []),
      ).catch((error: unknown) => {
        if (!hasOnly(error, ['RESOURCE_NOT_FOUND'])) throw error;
      });
    }
    for (const topic of await this.topicNames(cluster, tenant.prefix)) await this.deleteTopic(cluster, topic);
    const groups = await this.groupIds(cluster, tenant.prefix);
    for (const group of groups) await this.deleteGroup(cluster, group);
    await this.call(cluster, 'Removing quotas', (admin) =>
      admin.alterClientQuotas({
        entries: [
          {
            entities: [{ entityType: ClientQuotaEntityTypes.USER, entityName: tenant.username }],
            ops: [
              { key: ClientQuotaKeys.PRODUCER_BYTE_RATE, remove: true },
              { key: ClientQuotaKeys.CONSUMER_BYTE_RATE, remove: true },
              { key: ClientQuotaKeys.REQUEST_PERCENTAGE, remove: true },
            ],
          },
        ],
      }),
    );
    this.logger.log(`Dropped Kafka tenant ${tenant.username} (${tenant.prefix}) on ${cluster.name}`);
  }

  async createTopic(cluster: KafkaClusterConnection, topic: KafkaTopicSpec): Promise<void> {
    await this.call(cluster, `Creating topic ${topic.name}`, (admin) =>
      admin
        .createTopics({ topics: [topic.name], partitions: topic.partitions, replicas: -1, configs: topicConfigs(topic) })
        .then(() => undefined)
        .catch((error: unknown) => {
          if (!hasOnly(error, ['TOPIC_ALREADY_EXISTS'])) throw error;
        }),
    );
  }

  async configureTopic(
    cluster: KafkaClusterConnection,
    name: string,
    config: Partial<Pick<KafkaTopicSpec, 'retentionMs' | 'retentionBytes' | 'compaction'>>,
  ): Promise<void> {
    const configs = topicConfigs(config).map((c) => ({ ...c, configOperation: IncrementalAlterConfigOperationTypes.SET }));
    if (!configs.length) return;
    await this.call(cluster, `Configuring topic ${name}`, (admin) =>
      admin.incrementalAlterConfigs({ resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configs }] }),
    );
  }

  async addPartitions(cluster: KafkaClusterConnection, name: string, total: number): Promise<void> {
    await this.call(cluster, `Adding partitions to ${name}`, async (admin) => {
      const metadata = await admin.metadata({ topics: [name], forceUpdate: true });
      if ((metadata.topics.get(name)?.partitionsCount ?? 0) >= total) return;
      await admin.createPartitions({ topics: [{ name, count: total }] });
    });
  }

  async deleteTopic(cluster: KafkaClusterConnection, name: string): Promise<void> {
    // A missing topic is a retriable error to the client (stale metadata?), so look first instead of waiting out retries.
    if (!(await this.topicNames(cluster, name)).includes(name)) return;
    await this.call(cluster, `Deleting topic ${name}`, (admin) =>
      admin.deleteTopics({ topics: [name] }).catch((error: unknown) => {
        if (!hasOnly(error, ['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID'])) throw error;
      }),
    );
  }

  async listTopics(cluster: KafkaClusterConnection, prefix: string): Promise<KafkaTopicInfo[]> {
    const names = await this.topicNames(cluster, prefix);
    if (!names.length) return [];
    return this.call(cluster, 'Describing topics', async (admin) => {
      const metadata = await admin.metadata({ topics: names, forceUpdate: true });
      const configs = await admin.describeConfigs({
        resources: names.map((name) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configurationKeys: null })),
      });
      const partitionCount = (name: string) => metadata.topics.get(name)?.partitionsCount ?? 0;
      const logDirs = await admin.describeLogDirs({
        topics: names.map((name) => ({ name, partitions: [...Array(partitionCount(name)).keys()] })),
      });
      const sizes = new Map<string, number>();
      for (const broker of logDirs) {
        for (const dir of broker.results) {
          for (const topic of dir.topics) {
            const bytes = topic.partitions.filter((p) => !p.isFutureKey).reduce((sum, p) => sum + Number(p.partitionSize), 0);
            sizes.set(topic.name, (sizes.get(topic.name) ?? 0) + bytes);
          }
        }
      }
      return names.map((name) => {
        const described = configs.find((c) => c.resourceName === name)?.configs ?? [];
        const config: Record<string, string> = {};
        for (const entry of described) {
          if (entry.value === null || entry.value === undefined || entry.isSensitive) continue;
          if (entry.configSource === ConfigSources.TOPIC_CONFIG || SHOWN_TOPIC_CONFIGS.includes(entry.name)) config[entry.name] = entry.value;
        }
        return { name, partitions: partitionCount(name), config, sizeBytes: sizes.get(name) ?? 0 };
      });
    });
  }

  async topicCounters(cluster: KafkaClusterConnection, prefix: string): Promise<KafkaTopicCounters[]> {
    const topics = await this.listTopics(cluster, prefix);
    if (!topics.length) return [];
    const groups = await this.groupIds(cluster, prefix);
    return this.call(cluster, 'Reading topic offsets', async (admin) => {
      const offsetsAt = async (timestamp: bigint) => {
        const listed = await admin.listOffsets({
          topics: topics.map((t) => ({
            name: t.name,
            partitions: [...Array(t.partitions).keys()].map((partitionIndex) => ({ partitionIndex, timestamp })),
          })),
        });
        return new Map(listed.map((t) => [t.name, t.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)]));
      };
      const [starts, ends] = await Promise.all([offsetsAt(ListOffsetTimestamps.EARLIEST), offsetsAt(ListOffsetTimestamps.LATEST)]);
      const committed = new Map<string, number>();
      if (groups.length) {
        for (const group of await admin.listConsumerGroupOffsets({ groups })) {
          for (const topic of group.topics) {
            const sum = topic.partitions.reduce((acc, p) => acc + Math.max(0, Number(p.committedOffset)), 0);
            committed.set(topic.name, (committed.get(topic.name) ?? 0) + sum);
          }
        }
      }
      return topics.map((t) => ({
        name: t.name,
        partitions: t.partitions,
        startOffsets: starts.get(t.name) ?? 0,
        endOffsets: ends.get(t.name) ?? 0,
        sizeBytes: t.sizeBytes,
        committedOffsets: committed.get(t.name) ?? 0,
      }));
    });
  }

  async listGroups(cluster: KafkaClusterConnection, prefix: string): Promise<KafkaGroupLag[]> {
    const ids = await this.groupIds(cluster, prefix);
    if (!ids.length) return [];
    return this.call(cluster, 'Describing consumer groups', async (admin) => {
      // States from ListGroups: DescribeGroups knows classic groups only.
      const groupStates = await admin.listGroups({ types: [] });
      const offsets = await admin.listConsumerGroupOffsets({ groups: ids });
      const committed = offsets.flatMap((g) =>
        g.topics.flatMap((t) =>
          t.partitions.map((p) => ({ group: g.groupId, topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) })),
        ),
      );
      // Every partition of a topic the group has committed on: a partition it never committed on lags by all it retains.
      const existing = new Set(await admin.listTopics());
      const topics = [...new Set(committed.map((c) => c.topic))].filter((t) => existing.has(t));
      const ends = new Map<string, number>();
      const starts = new Map<string, number>();
      const counts = new Map<string, number>();
      if (topics.length) {
        const metadata = await admin.metadata({ topics, forceUpdate: true });
        for (const t of topics) counts.set(t, metadata.topics.get(t)?.partitionsCount ?? 0);
        const offsetsAt = (timestamp: bigint, into: Map<string, number>) =>
          admin
            .listOffsets({
              topics: topics.map((name) => ({ name, partitions: [...Array(counts.get(name)).keys()].map((partitionIndex) => ({ partitionIndex, timestamp })) })),
            })
            .then((listed) => {
              for (const t of listed) for (const p of t.partitions) into.set(`${t.name}\0${p.partitionIndex}`, Number(p.offset));
            });
        await Promise.all([offsetsAt(ListOffsetTimestamps.LATEST, ends), offsetsAt(ListOffsetTimestamps.EARLIEST, starts)]);
      }
      const positions = (group: string) => {
        const mine = committed.filter((c) => c.group === group);
        const groupTopics = [...new Set(mine.map((c) => c.topic))].filter((t) => counts.has(t));
        return groupTopics.flatMap((topic) =>
          [...Array(counts.get(topic)).keys()].map((partition) => ({
            topic,
            partition,
            offset: mine.find((c) => c.topic === topic && c.partition === partition)?.offset ?? -1,
          })),
        );
      };
      return ids.map((group) => ({
        group,
        state: groupStates.get(group)?.state ?? 'UNKNOWN',
        partitions: positions(group)
          .map((c) => {
            const endOffset = ends.get(`${c.topic}\0${c.partition}`) ?? 0;
            const startOffset = starts.get(`${c.topic}\0${c.partition}`) ?? 0;
            // No committed offset (-1), or one retention has passed, lags by what the partition retains.
            const lag = Math.max(0, endOffset - Math.max(startOffset, c.offset));
            return { topic: c.topic, partition: c.partition, committedOffset: c.offset, endOffset, lag };
          })
          .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
      }));
    });
  }

  // --- helpers ---

  /** Prefixes must end in a delimiter; otherwise `t-1` would match `t-12`'s resources. An empty one would match everything. */
  private checkPrefix(prefix: string): void {
    if (!/^[A-Za-z0-9._-]+[._-]$/.test(prefix)) throw new Error(`Bad Kafka tenant prefix '${prefix}': it must end in '.', '_' or '-'`);
  }

  private async topicNames(cluster: KafkaClusterConnection, prefix: string): Promise<string[]> {
    const all = await this.call(cluster, 'Listing topics', (admin) => admin.listTopics({ includeInternals: false }));
    return all.filter((name) => name.startsWith(prefix)).sort();
  }

  private async groupIds(cluster: KafkaClusterConnection, prefix: string): Promise<string[]> {
    // Every type (an empty filter): classic groups, KIP-848 consumer groups and share groups.
    const groups = await this.call(cluster, 'Listing consumer groups', (admin) => admin.listGroups({ types: [] }));
    return [...groups.keys()].filter((id) => id.startsWith(prefix)).sort();
  }

  private async deleteGroup(cluster: KafkaClusterConnection, group: string): Promise<void> {
    const del = (admin: Admin) =>
      admin.deleteGroups({ groups: [group] }).catch((error: unknown) => {
        if (!hasOnly(error, ['GROUP_ID_NOT_FOUND'])) throw error;
      });
    await this.call(cluster, `Deleting consumer group ${group}`, async (admin) => {
      try {
        await del(admin);
      } catch (error) {
        // Members still joined (the tenant's consumers, now without ACLs) keep a group alive until their session times out.
        if (!hasOnly(error, ['NON_EMPTY_GROUP'])) throw error;
        await admin.removeMembersFromConsumerGroup({ groupId: group, members: null });
        await del(admin);
      }
    });
  }

  private async credentialExists(cluster: KafkaClusterConnection, username: string): Promise<boolean> {
    try {
      const response = await this.scram(cluster, 'Describing the credential', [], (conn) =>
        describeUserScramCredentialsV0.api.async(conn, [{ name: username }]),
      );
      return response.results.some((r) => r.user === username && r.credentialInfos.some((c) => c.mechanism === ScramMechanisms.SCRAM_SHA_512));
    } catch (error) {
      if (hasOnly(error, ['RESOURCE_NOT_FOUND'])) return false;
      throw error;
    }
  }

  /** Upsert: a credential that exists gets the new salt and password. The plaintext never leaves this process. */
  private async upsertCredential(cluster: KafkaClusterConnection, username: string, password: string): Promise<void> {
    if (!password) throw new Error('Kafka passwords must not be empty');
    const salt = randomBytes(32);
    const saltedPassword = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 64, 'sha512');
    await this.scram(cluster, `Setting the credential of ${username}`, [password], (conn) =>
      alterUserScramCredentialsV0.api.async(conn, [], [
        { name: username, mechanism: ScramMechanisms.SCRAM_SHA_512, iterations: SCRAM_ITERATIONS, salt, saltedPassword },
      ]),
    );
  }

  /**
   * SCRAM credentials have only the low-level API in 1.x. The broker forwards it to the controller,
   * so any broker will do; the request needs ALTER on CLUSTER, which only the super user has.
   */
  private async scram<T>(cluster: KafkaClusterConnection, action: string, secrets: string[], run: (conn: Connection) => Promise<T>): Promise<T> {
    let lastError: unknown;
    // The first bootstrap server that takes the connection; a broker that is down must not stop the cluster's users changing.
    for (const { host, port } of bootstrapBrokers(cluster)) {
      const conn = new Connection(CLIENT_ID, {
        requestTimeout: REQUEST_TIMEOUT_MS,
        connectTimeout: REQUEST_TIMEOUT_MS,
        sasl: { mechanism: 'SCRAM-SHA-512', username: cluster.adminUser, password: cluster.adminPassword },
      });
      // The connection reports socket errors as events; an unhandled 'error' event would crash the process.
      conn.on('error', () => undefined);
      try {
        try {
          await conn.connect(host, port);
        } catch (error) {
          lastError = error;
          continue;
        }
        return await run(conn);
      } catch (error) {
        throw scrubbed(error, action, [...secrets, cluster.adminPassword]);
      } finally {
        await conn.close().catch(() => undefined);
      }
    }
    throw scrubbed(lastError, action, [...secrets, cluster.adminPassword]);
  }

  private async call<T>(cluster: KafkaClusterConnection, action: string, run: (admin: Admin) => Promise<T>): Promise<T> {
    try {
      return await run(this.admin(cluster));
    } catch (error) {
      throw scrubbed(error, action, [cluster.adminPassword]);
    }
  }

  /** One Admin per cluster id, rebuilt when the address or the super user's credentials change. */
  private admin(cluster: KafkaClusterConnection): Admin {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([cluster.bootstrapServers, cluster.adminUser, cluster.adminPassword]))
      .digest('hex');
    const cached = this.admins.get(cluster.id);
    if (cached && cached.fingerprint === fingerprint && !cached.admin.closed) return cached.admin;
    if (cached) void cached.admin.close().catch(() => undefined);
    const admin = new Admin({
      clientId: CLIENT_ID,
      bootstrapBrokers: cluster.bootstrapServers.split(',').map((s) => s.trim()).filter(Boolean),
      sasl: { mechanism: 'SCRAM-SHA-512', username: cluster.adminUser, password: cluster.adminPassword },
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectTimeout: REQUEST_TIMEOUT_MS,
      retries: RETRIES,
      retryDelay: RETRY_DELAY_MS,
    });
    this.admins.set(cluster.id, { fingerprint, admin });
    return admin;
  }
}
