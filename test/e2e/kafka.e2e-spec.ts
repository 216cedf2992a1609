import { Admin, MessagesStreamModes } from '@platformatic/kafka';
import { localKafkaCluster } from '@app/config';
import { AttacheHarness } from '../support/attache-harness';
import { KafkaClients, KafkaInspector, KafkaVars, failure, kafkaErrors, kafkaVars } from '../support/kafka-clients';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface TopicBody {
  name: string;
  full_name: string;
  partitions: number;
  retention_ms: number | null;
  retention_bytes: number | null;
  compaction: boolean;
  size_bytes: number;
}

/**
 * The first-party `kafka` service (docs/kafka.md) on the real broker scripts/kafka.sh runs,
 * registered twice (two backends on one broker) to show placement. Tenants are reached only
 * with the config vars Attache hands their apps; the super user only checks what is left.
 */
describe('first-party Kafka', () => {
  let attache: AttacheHarness;
  let inspector: KafkaInspector;
  let superAdmin: Admin;
  const clients = new KafkaClients();
  const local = localKafkaCluster();

  beforeAll(async () => {
    attache = await AttacheHarness.start({ kafka: ['kafka-a', 'kafka-b'], env: { ATTACHE_KAFKA_SAMPLE_INTERVAL_MS: '500', ATTACHE_FIRST_PARTY_USAGE_PERIOD_MS: '1000' } });
    inspector = new KafkaInspector(local);
    superAdmin = inspector.admin;
  });

  afterEach(() => clients.closeAll());

  afterAll(async () => {
    await inspector?.close();
    await attache?.stop();
  });

  async function provision(apiKey: string, app: string, plan = 'kafka:basic-0') {
    const created = await attache.client(apiKey).post(`/apps/${app}/addons`).send({ plan });
    if (created.status !== 201) throw new Error(`create failed: ${created.status} ${JSON.stringify(created.body)}`);
    await attache.waitForAddon(apiKey, created.body.id, (a) => a.state === 'provisioned', 30_000);
    return { id: created.body.id as string, name: created.body.name as string };
  }

  /** An account, its app and a Kafka add-on on it, with the app's config vars. */
  async function kafka(stem: string, plan = 'kafka:basic-0') {
    const dev = await attache.createAccount(stem);
    const app = await attache.createApp(dev.apiKey);
    const addon = await provision(dev.apiKey, app.name, plan);
    const vars = kafkaVars(await attache.configVars(dev.apiKey, app.name));
    return { dev, app, addon, vars, as: attache.client(dev.apiKey) };
  }

  async function createTopic(apiKey: string, addon: string, body: Record<string, unknown>): Promise<TopicBody> {
    const response = await attache.client(apiKey).post(`/addons/${addon}/kafka/topics`).send(body);
    if (response.status !== 201) throw new Error(`topic create failed: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body as TopicBody;
  }

  const planChanged = (apiKey: string, addon: string, plan: string) =>
    attache.waitForAddon(apiKey, addon, (a) => a.state === 'provisioned' && a.pending_plan === null && (a.plan as { name: string }).name === plan, 30_000);

  // --- what the super user sees of a tenant --------------------------------------------------

  const credentialsOf = (username: string) => inspector.credentialsOf(username);
  const aclsOf = (username: string) => inspector.aclsOf(username);
  const quotasOf = (username: string) => inspector.quotasOf(username);
  const topicsUnder = async (prefix: string) => (await superAdmin.listTopics()).filter((t) => t.startsWith(prefix));
  const groupsUnder = async (prefix: string) => [...(await superAdmin.listGroups()).keys()].filter((g) => g.startsWith(prefix));

  it('hands the app config vars alone enough to produce to and consume from its own topics', async () => {
    const { dev, addon, vars, as } = await kafka('kafka-own');
    expect(vars.url).toBe(`kafka://${local.bootstrapServers}`);
    expect(vars.prefix).toMatch(/^[a-z]+-\d{5}\.$/);
    expect(vars.username).toBe(vars.prefix.slice(0, -1));
    expect(vars.mechanism).toBe('SCRAM-SHA-512');

    const topic = await createTopic(dev.apiKey, addon.name, { name: 'events', partitions: 2 });
    expect(topic).toMatchObject({ name: 'events', full_name: `${vars.prefix}events`, partitions: 2, compaction: false, retention_ms: 86_400_000, retention_bytes: 64 * 1024 * 1024 });

    await clients.produce(vars, `${vars.prefix}events`, 5);
    const read = await clients.consume(vars, `${vars.prefix}events`, `${vars.prefix}workers`, 5);
    expect(read).toHaveLength(5);

    const groups = await as.get(`/addons/${addon.name}/kafka/consumer-groups`);
    expect(groups.status).toBe(200);
    expect(groups.body).toEqual([
      expect.objectContaining({
        name: 'workers',
        full_name: `${vars.prefix}workers`,
        lag: 0,
        partitions: [expect.objectContaining({ topic: 'events', partition: 0, lag: 0 }), expect.objectContaining({ topic: 'events', partition: 1, lag: 0 })],
      }),
    ]);
    await clients.produce(vars, `${vars.prefix}events`, 3);
    const lagging = await as.get(`/addons/${addon.name}/kafka/consumer-groups`);
    expect(lagging.body[0].lag).toBe(3);

    const listed = await as.get(`/addons/${addon.name}/kafka/topics`);
    expect(listed.status).toBe(200);
    expect(listed.body.map((t: TopicBody) => t.name)).toEqual(['events']);
    const shown = await as.get(`/addons/${addon.name}/kafka/topics/events`);
    expect(shown.body.size_bytes).toBeGreaterThan(0);

    const patched = await as.patch(`/addons/${addon.name}/kafka/topics/events`).send({ partitions: 4, retention_ms: 3_600_000, compaction: true });
    expect({ status: patched.status, body: patched.body }).toMatchObject({ status: 200 });
    expect(patched.body).toMatchObject({ partitions: 4, retention_ms: 3_600_000, compaction: true });
    // Compacted topics keep deleting by retention, and segments roll at a quarter of it, so the plan bounds their size.
    expect(patched.body.config).toMatchObject({ 'cleanup.policy': 'compact,delete', 'segment.ms': '900000', 'segment.bytes': String(16 * 1024 * 1024) });
    const fewer = await as.patch(`/addons/${addon.name}/kafka/topics/events`).send({ partitions: 2 });
    expect(fewer.status).toBe(422);

    const deleted = await as.delete(`/addons/${addon.name}/kafka/topics/events`);
    expect(deleted.status).toBe(200);
    expect(await topicsUnder(vars.prefix)).toEqual([]);
    expect((await as.get(`/addons/${addon.name}/kafka/topics/events`)).status).toBe(404);
  });

  it('gives a tenant authorization errors on another tenant’s topics and groups and on unprefixed names', async () => {
    const a = await kafka('kafka-a');
    const b = await kafka('kafka-b');
    await createTopic(a.dev.apiKey, a.addon.name, { name: 'orders' });
    await createTopic(b.dev.apiKey, b.addon.name, { name: 'orders' });
    await clients.produce(b.vars, `${b.vars.prefix}orders`, 1);

    // Another tenant's topic: neither write nor read.
    expect(kafkaErrors(await failure(clients.producer(a.vars).send({ messages: [{ topic: `${b.vars.prefix}orders`, value: 'x' }] })))).toContain('TOPIC_AUTHORIZATION_FAILED');
    const reader = clients.consumer(a.vars, `${a.vars.prefix}spy`);
    expect(kafkaErrors(await failure(reader.consume({ topics: [`${b.vars.prefix}orders`], mode: MessagesStreamModes.EARLIEST })))).toContain(
      'TOPIC_AUTHORIZATION_FAILED',
    );
    // Another tenant's group, or an unprefixed one, even on its own topic.
    for (const groupId of [`${b.vars.prefix}workers`, 'workers']) {
      const consumer = clients.consumer(a.vars, groupId);
      expect(kafkaErrors(await failure(consumer.consume({ topics: [`${a.vars.prefix}orders`], mode: MessagesStreamModes.EARLIEST })))).toContain(
        'GROUP_AUTHORIZATION_FAILED',
      );
    }
    // Topics it cannot create itself, prefixed or not; and metadata shows only its own.
    const admin = clients.admin(a.vars);
    for (const name of [`${a.vars.prefix}sneaky`, 'unprefixed']) {
      expect(kafkaErrors(await failure(admin.createTopics({ topics: [name], partitions: 1, replicas: 1 })))).toContain('TOPIC_AUTHORIZATION_FAILED');
    }
    expect(await admin.listTopics()).toEqual([`${a.vars.prefix}orders`]);
    expect(kafkaErrors(await failure(clients.producer(a.vars).send({ messages: [{ topic: 'unprefixed', value: 'x' }] })))).toContain('TOPIC_AUTHORIZATION_FAILED');

    // And through the API: another account's add-on is not theirs to see.
    expect((await a.as.get(`/addons/${b.addon.name}/kafka/topics`)).status).toBe(403);
  });

  it('refuses topics, partitions and retention past the plan, and a downgrade the topics do not fit', async () => {
    const { dev, app, addon, vars, as } = await kafka('kafka-limits');
    const refused = async (body: Record<string, unknown>, status: number, id: string) => {
      const response = await as.post(`/addons/${addon.name}/kafka/topics`).send(body);
      expect({ body, status: response.status, id: response.body.id }).toEqual({ body, status, id });
      expect(typeof response.body.message).toBe('string');
    };
    await refused({ name: 'wide', partitions: 5 }, 422, 'plan_limit');
    await refused({ name: 'long', retention_ms: 2 * 86_400_000 }, 422, 'plan_limit');
    await refused({ name: 'bad name' }, 422, 'invalid_params');
    await refused({ name: '.hidden' }, 422, 'invalid_params');
    await refused({ name: 'x'.repeat(250) }, 422, 'invalid_params');
    await refused({ partitions: 1 }, 422, 'invalid_params');
    await refused({ name: 'short', retention_ms: 1_000 }, 422, 'invalid_params');
    // A name that would still start with the prefix once the prefix is added would be ambiguous.
    await refused({ name: `${vars.prefix}${vars.prefix}x` }, 422, 'invalid_params');

    for (let i = 0; i < 10; i++) await createTopic(dev.apiKey, addon.name, { name: `t${i}`, partitions: 4 });
    await refused({ name: 't0' }, 409, 'topic_exists');
    await refused({ name: 'extra' }, 422, 'plan_limit');
    expect((await as.get(`/addons/${addon.name}/kafka/topics`)).body).toHaveLength(10);

    // basic-1 allows 25 topics of 8 partitions.
    expect((await as.patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'kafka:basic-1' })).status).toBe(200);
    await planChanged(dev.apiKey, addon.id, 'kafka:basic-1');
    await createTopic(dev.apiKey, addon.name, { name: 'extra', partitions: 8 });
    const info = await as.get(`/addons/${addon.name}/kafka`);
    expect(info.body).toMatchObject({ plan: { name: 'kafka:basic-1' }, topics_count: 11, limits: { topics: 25, partitions_per_topic: 8 } });

    // While a change back to basic-0 is pending (as recorded before the worker has run it), topics
    // count against the stricter of the two plans.
    const basic0 = await attache.pg.query<{ id: string }>(`SELECT p.id FROM plans p JOIN addon_services s ON s.id = p.service_id WHERE s.slug = 'kafka' AND p.name = 'basic-0'`);
    await attache.pg.query('UPDATE addons SET pending_plan_id = $1 WHERE id = $2', [basic0.rows[0].id, addon.id]);
    const duringChange = await as.post(`/addons/${addon.name}/kafka/topics`).send({ name: 'wide-again', partitions: 8 });
    await attache.pg.query('UPDATE addons SET pending_plan_id = NULL WHERE id = $1', [addon.id]);
    expect({ status: duringChange.status, id: duringChange.body.id }).toEqual({ status: 422, id: 'plan_limit' });
    expect(duringChange.body.message).toMatch(/allows 1 to 4 partitions per topic/);

    // Back to basic-0: 11 topics do not fit in 10; the add-on stays on basic-1 and says why.
    expect((await as.patch(`/apps/${app.name}/addons/${addon.id}`).send({ plan: 'kafka:basic-0' })).status).toBe(200);
    const settled = await attache.waitForAddon(dev.apiKey, addon.id, (a) => a.pending_plan === null && a.plan_change_error !== null, 30_000);
    expect(settled).toMatchObject({ plan: { name: 'kafka:basic-1' } });
    expect(String(settled.plan_change_error)).toMatch(/allows 10 topics/);
  });

  it('rotates the credentials: the old password fails at once for new logins and within the re-authentication window for open ones', async () => {
    const { dev, app, addon, vars, as } = await kafka('kafka-rotate');
    const shared = await attache.createApp(dev.apiKey);
    expect((await as.post('/addon-attachments').send({ addon: addon.id, app: shared.name, name: 'EVENTS' })).status).toBe(201);
    await createTopic(dev.apiKey, addon.name, { name: 'events' });
    const openProducer = clients.producer(vars);
    await openProducer.send({ messages: [{ topic: `${vars.prefix}events`, value: 'before' }] });
    const releasesBefore = (await attache.releases(dev.apiKey, app.name)).length;

    const rotated = await as.post(`/addons/${addon.name}/kafka/credentials/rotate`);
    expect(rotated.status).toBe(200);
    const rotatedAt = Date.now();

    const after = kafkaVars(await attache.configVars(dev.apiKey, app.name));
    expect(after.password).not.toBe(vars.password);
    expect(kafkaVars(await attache.configVars(dev.apiKey, shared.name), 'EVENTS').password).toBe(after.password);
    expect((await attache.releases(dev.apiKey, app.name)).length).toBe(releasesBefore + 1);
    expect((await as.get(`/addons/${addon.name}/kafka/credentials`)).body.KAFKA_PASSWORD).toBe(after.password);

    expect(kafkaErrors(await failure(clients.admin(vars).listTopics()))).toContain('SASL_AUTHENTICATION_FAILED');
    await clients.producer(after).send({ messages: [{ topic: `${vars.prefix}events`, value: 'after' }] });

    // The connection opened with the old password works until it must re-authenticate (the broker's
    // connections.max.reauth.ms, 60 s); then it fails.
    let failedAfterMs: number | null = null;
    while (Date.now() - rotatedAt < 75_000) {
      try {
        await openProducer.send({ messages: [{ topic: `${vars.prefix}events`, value: 'still?' }] });
      } catch {
        failedAfterMs = Date.now() - rotatedAt;
        break;
      }
      await sleep(1_000);
    }
    expect(failedAfterMs).not.toBeNull();
    expect(failedAfterMs!).toBeLessThanOrEqual(61_000);
  }, 120_000);

  it('places add-ons on the least loaded cluster and shows traffic from the worker’s samples', async () => {
    const first = await kafka('kafka-place-1');
    const second = await kafka('kafka-place-2');
    const clusterOf = async (k: typeof first) => (await k.as.get(`/addons/${k.addon.name}/kafka`)).body.cluster.name as string;
    expect([await clusterOf(first), await clusterOf(second)].sort()).toEqual(['kafka-a', 'kafka-b']);

    await createTopic(first.dev.apiKey, first.addon.name, { name: 'clicks' });
    // A sample before the traffic, then traffic, then the info over the last minute.
    await sleep(1_200);
    await clients.produce(first.vars, `${first.vars.prefix}clicks`, 40, 100);
    await clients.consume(first.vars, `${first.vars.prefix}clicks`, `${first.vars.prefix}readers`, 40);
    const info = await attache.waitUntil('traffic in the samples', async () => {
      const response = await first.as.get(`/addons/${first.addon.name}/kafka?minutes=1`);
      const clicks = response.body.topics?.find((t: { name: string }) => t.name === 'clicks');
      return clicks?.messages_in === 40 && clicks?.messages_out === 40 ? response.body : undefined;
    });
    expect(info.window.minutes).toBe(1);
    // The bytes it produced are metered for its bill too (docs/billing.md): 40 × 100 bytes and more.
    const produced = await attache.waitUntil('produced bytes recorded as usage', async () => {
      const rows = await attache.pg.query(`SELECT sum(quantity)::int AS kb FROM usage_records WHERE addon_id = $1 AND dimension = 'produced_kb'`, [first.addon.id]);
      return rows.rows[0].kb >= 4 ? rows.rows[0].kb : undefined;
    });
    expect(produced).toBeLessThan(64);
    expect(info.topics[0].bytes_in).toBeGreaterThan(40 * 100);
    expect((await first.as.get(`/addons/${first.addon.name}/kafka?minutes=0`)).status).toBe(422);
  });

  it('deprovisioning leaves no topic, group, ACL, quota or credential', async () => {
    const { dev, app, addon, vars } = await kafka('kafka-deprov');
    await createTopic(dev.apiKey, addon.name, { name: 'a' });
    await createTopic(dev.apiKey, addon.name, { name: 'b', partitions: 2 });
    await clients.produce(vars, `${vars.prefix}a`, 2);
    await clients.consume(vars, `${vars.prefix}a`, `${vars.prefix}g`, 2);
    expect(await topicsUnder(vars.prefix)).toHaveLength(2);
    expect(await groupsUnder(vars.prefix)).toEqual([`${vars.prefix}g`]);
    expect((await aclsOf(vars.username)).length).toBeGreaterThan(0);
    expect(await quotasOf(vars.username)).toHaveLength(1);
    expect(await credentialsOf(vars.username)).toHaveLength(1);

    expect((await attache.client(dev.apiKey).delete(`/apps/${app.name}/addons/${addon.id}`)).status).toBe(200);
    await attache.waitForAddonGone(dev.apiKey, addon.id, 30_000);

    expect(await topicsUnder(vars.prefix)).toEqual([]);
    expect(await groupsUnder(vars.prefix)).toEqual([]);
    expect(await aclsOf(vars.username)).toEqual([]);
    expect(await quotasOf(vars.username)).toEqual([]);
    expect(await credentialsOf(vars.username)).toEqual([]);
    expect(await attache.configVars(dev.apiKey, app.name)).toEqual({});
    expect(kafkaErrors(await failure(clients.admin(vars as KafkaVars).listTopics()))).toContain('SASL_AUTHENTICATION_FAILED');
  });
});
