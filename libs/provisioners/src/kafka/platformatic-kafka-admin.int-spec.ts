import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MessagesStreamModes } from '@platformatic/kafka';
import { localKafkaCluster } from '@app/config';
import { KafkaClusterConnection, KafkaTenantLimits } from '@app/domain';
import { KafkaClients, KafkaInspector, KafkaVars, failure, kafkaErrors } from '../../../../test/support/kafka-clients';
import { PlatformaticKafkaAdmin } from './platformatic-kafka-admin';

const LIMITS: KafkaTenantLimits = { producerByteRate: 65_536, consumerByteRate: 262_144 };

interface Tenant {
  username: string;
  password: string;
  prefix: string;
}

const hex = () => randomBytes(4).toString('hex');
const newTenant = (): Tenant => {
  const id = hex();
  return { username: `u-${id}`, password: randomBytes(24).toString('base64url'), prefix: `t-${id}.` };
};

describe('PlatformaticKafkaAdmin against the real broker', () => {
  let cluster: KafkaClusterConnection;
  let kafka: PlatformaticKafkaAdmin;
  let inspector: KafkaInspector;
  const closers: (() => Promise<unknown>)[] = [];
  const a = newTenant();
  const b = newTenant();
  const tenants = [a, b];

  const clients = new KafkaClients();
  /** A tenant as its config vars would give it. */
  const vars = (t: Pick<Tenant, 'username' | 'password'> & Partial<Pick<Tenant, 'prefix'>>): KafkaVars => ({
    url: cluster.bootstrapServers,
    prefix: t.prefix ?? '',
    username: t.username,
    password: t.password,
    mechanism: 'SCRAM-SHA-512',
  });
  const producerAs = (t: Pick<Tenant, 'username' | 'password'>) => clients.producer(vars(t));
  const consumerAs = (t: Pick<Tenant, 'username' | 'password'>, groupId: string) => clients.consumer(vars(t), groupId);
  const adminAs = (t: Pick<Tenant, 'username' | 'password'>) => clients.admin(vars(t));

  const produce = (t: Tenant, topic: string, count: number) =>
    producerAs(t).send({
      messages: Array.from({ length: count }, (_, i) => ({ topic, key: `k${i}`, value: `v${i}` })),
    });

  /** Reads `count` messages as the group and commits them. */
  const consume = (t: Tenant, topic: string, groupId: string, count: number, groupProtocol: 'classic' | 'consumer' = 'classic') =>
    clients.consume(vars(t), topic, groupId, count, groupProtocol);

  const credentialOf = (username: string) => inspector.credentialsOf(username);
  const aclsOf = (username: string) => inspector.aclsOf(username);
  const quotasOf = (username: string) => inspector.quotasOf(username);

  beforeAll(async () => {
    execFileSync('bash', ['scripts/kafka.sh'], { stdio: ['ignore', 'ignore', 'inherit'] });
    cluster = { id: 'local', name: 'local', ...localKafkaCluster() };
    kafka = new PlatformaticKafkaAdmin();
    inspector = new KafkaInspector(cluster);
    closers.push(() => inspector.close());
    for (const t of tenants) {
      await kafka.createTenant(cluster, { ...t, limits: LIMITS });
      await kafka.createTopic(cluster, { name: `${t.prefix}events`, partitions: 2, retentionMs: 3_600_000, retentionBytes: 10_000_000, compaction: false });
    }
  });

  afterAll(async () => {
    for (const t of tenants) await kafka?.dropTenant(cluster, t).catch(() => undefined);
    await clients.closeAll();
    for (const close of closers) await close();
    await kafka?.onModuleDestroy();
  });

  it('gives a tenant produce and consume on its own topics and nothing else', async () => {
    await produce(a, `${a.prefix}events`, 3);
    expect(await consume(a, `${a.prefix}events`, `${a.prefix}g1`, 3)).toEqual(expect.arrayContaining(['v0', 'v1', 'v2']));

    // Nothing it can create itself, not even under its prefix.
    const own = adminAs(a);
    expect(kafkaErrors(await failure(own.createTopics({ topics: [`${a.prefix}mine`], partitions: 1, replicas: 1 })))).toContain(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    // Metadata shows its own topics only.
    expect(await own.listTopics()).toEqual([`${a.prefix}events`]);

    // Another tenant's topic: neither write nor read.
    expect(kafkaErrors(await failure(producerAs(a).send({ messages: [{ topic: `${b.prefix}events`, value: 'x' }] })))).toContain(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    const readB = consumerAs(a, `${a.prefix}g2`);
    expect(kafkaErrors(await failure(readB.consume({ topics: [`${b.prefix}events`], mode: MessagesStreamModes.EARLIEST })))).toContain(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    // A group outside its prefix, on its own topic.
    for (const groupId of [`${b.prefix}g1`, 'unprefixed-group']) {
      const foreignGroup = consumerAs(a, groupId);
      expect(kafkaErrors(await failure(foreignGroup.consume({ topics: [`${a.prefix}events`], mode: MessagesStreamModes.EARLIEST })))).toContain(
        'GROUP_AUTHORIZATION_FAILED',
      );
    }
  });

  it('refuses a wrong password and, after setPassword, the old one for new connections', async () => {
    const wrong = adminAs({ username: a.username, password: 'not-the-password' });
    expect(kafkaErrors(await failure(wrong.listTopics()))).toContain('SASL_AUTHENTICATION_FAILED');

    const c = newTenant();
    tenants.push(c);
    await kafka.createTenant(cluster, { ...c, limits: LIMITS });
    await expect(adminAs(c).listTopics()).resolves.toEqual([]);
    const oldPassword = c.password;
    c.password = randomBytes(24).toString('base64url');
    await kafka.setPassword(cluster, c.username, c.password);
    await kafka.setPassword(cluster, c.username, c.password);
    expect(kafkaErrors(await failure(adminAs({ username: c.username, password: oldPassword }).listTopics()))).toContain(
      'SASL_AUTHENTICATION_FAILED',
    );
    await expect(adminAs(c).listTopics()).resolves.toEqual([]);
    await expect(kafka.setPassword(cluster, `u-${hex()}`, 'x')).rejects.toThrow(/does not exist/);
  });

  it('keeps passwords out of errors and rebuilds its client when the admin credentials change', async () => {
    const e = newTenant();
    const badAdmin = 'wrong-' + randomBytes(8).toString('hex');
    const broken = { ...cluster, adminPassword: badAdmin };
    const error = await failure(kafka.createTenant(broken, { ...e, limits: LIMITS }));
    expect(String((error as Error).message)).not.toContain(e.password);
    expect(String((error as Error).message)).not.toContain(badAdmin);
    const topicError = await failure(kafka.listTopics(broken, a.prefix));
    expect(String((topicError as Error).message)).not.toContain(badAdmin);
    // Same cluster id, right credentials again: a new client, not the broken one.
    expect((await kafka.listTopics(cluster, a.prefix)).map((t) => t.name)).toEqual([`${a.prefix}events`]);
  });

  it('creates, configures and lists topics idempotently', async () => {
    const name = `${b.prefix}orders`;
    const spec = { name, partitions: 3, retentionMs: 7_200_000, retentionBytes: 5_000_000, compaction: false };
    await kafka.createTopic(cluster, spec);
    await kafka.createTopic(cluster, spec);
    await kafka.configureTopic(cluster, name, { retentionMs: 600_000, compaction: true });
    await kafka.configureTopic(cluster, name, { retentionMs: 600_000, compaction: true });

    const topics = await kafka.listTopics(cluster, b.prefix);
    expect(topics.map((t) => t.name)).toEqual([`${b.prefix}events`, name]);
    const orders = topics.find((t) => t.name === name)!;
    expect(orders.partitions).toBe(3);
    expect(orders.config).toMatchObject({ 'retention.ms': '600000', 'retention.bytes': '5000000', 'cleanup.policy': 'compact,delete' });
    expect(orders.sizeBytes).toBe(0);
    expect(await kafka.listTopics(cluster, `t-${hex()}.`)).toEqual([]);

    await kafka.deleteTopic(cluster, name);
    await kafka.deleteTopic(cluster, name);
    expect((await kafka.listTopics(cluster, b.prefix)).map((t) => t.name)).toEqual([`${b.prefix}events`]);
  });

  it('lists consumer groups with lag and topic sizes after traffic', async () => {
    const topic = `${b.prefix}events`;
    await produce(b, topic, 10);
    await consume(b, topic, `${b.prefix}reader`, 4);

    const groups = await kafka.listGroups(cluster, b.prefix);
    expect(groups.map((g) => g.group)).toEqual([`${b.prefix}reader`]);
    const [reader] = groups;
    expect(reader.state).toBe('EMPTY');
    const committed = reader.partitions.reduce((sum, p) => sum + Math.max(0, p.committedOffset), 0);
    const lag = reader.partitions.reduce((sum, p) => sum + p.lag, 0);
    const end = reader.partitions.reduce((sum, p) => sum + p.endOffset, 0);
    expect(reader.partitions.map((p) => p.partition)).toEqual([0, 1]);
    expect(committed).toBeGreaterThanOrEqual(4);
    expect(end).toBe(10);
    expect(lag).toBe(end - committed);
    expect(lag).toBeGreaterThan(0);
    for (const p of reader.partitions) expect(p).toMatchObject({ topic });

    const [info] = await kafka.listTopics(cluster, topic);
    expect(info.sizeBytes).toBeGreaterThan(0);
    // Segments at a quarter of the retention, so retention bounds what a partition holds.
    expect(info.config).toMatchObject({ 'retention.bytes': '10000000', 'segment.bytes': '2500000', 'retention.ms': '3600000', 'segment.ms': '900000' });
  });

  it('drops a tenant: topics, groups, ACLs, quotas and credential, and again harmlessly', async () => {
    const d = newTenant();
    tenants.push(d);
    await kafka.createTenant(cluster, { ...d, limits: LIMITS });
    await kafka.createTenant(cluster, { ...d, limits: { producerByteRate: 1_000, consumerByteRate: 2_000 } });
    await kafka.createTopic(cluster, { name: `${d.prefix}a`, partitions: 1, retentionMs: 3_600_000, retentionBytes: 1_000_000, compaction: false });
    await produce(d, `${d.prefix}a`, 2);
    await consume(d, `${d.prefix}a`, `${d.prefix}g`, 2);
    // A group on Kafka 4's consumer protocol (KIP-848) too, which classic-only listings miss.
    await consume(d, `${d.prefix}a`, `${d.prefix}g848`, 2, 'consumer');
    expect((await kafka.listGroups(cluster, d.prefix)).map((g) => g.group)).toEqual([`${d.prefix}g`, `${d.prefix}g848`]);

    expect((await aclsOf(d.username)).flatMap((r) => r.acls)).toHaveLength(9);
    expect((await quotasOf(d.username))[0].values).toEqual(
      expect.arrayContaining([
        { key: 'producer_byte_rate', value: 1_000 },
        { key: 'consumer_byte_rate', value: 2_000 },
      ]),
    );
    expect(await credentialOf(d.username)).toEqual([2]);

    await kafka.dropTenant(cluster, d);
    await kafka.dropTenant(cluster, d);

    expect(await kafka.listTopics(cluster, d.prefix)).toEqual([]);
    expect(await kafka.listGroups(cluster, d.prefix)).toEqual([]);
    expect(await aclsOf(d.username)).toEqual([]);
    expect(await quotasOf(d.username)).toEqual([]);
    expect(await credentialOf(d.username)).toEqual([]);
    expect(kafkaErrors(await failure(adminAs(d).listTopics()))).toContain('SASL_AUTHENTICATION_FAILED');
    // Other tenants are untouched.
    expect((await aclsOf(a.username)).flatMap((r) => r.acls)).toHaveLength(9);
  });
});
