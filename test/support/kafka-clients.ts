import { randomBytes } from 'node:crypto';
import {
  Admin,
  AclOperations,
  AclPermissionTypes,
  ClientQuotaEntityTypes,
  ClientQuotaMatchTypes,
  Connection,
  Consumer,
  describeUserScramCredentialsV0,
  MessagesStreamModes,
  Producer,
  ResourcePatternTypes,
  ResourceTypes,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';

/** What a developer's app has: the config vars of a Kafka add-on (under the `KAFKA` alias). */
export interface KafkaVars {
  url: string;
  prefix: string;
  username: string;
  password: string;
  mechanism: string;
}

export function kafkaVars(config: Record<string, string>, alias = 'KAFKA'): KafkaVars {
  const get = (name: string) => {
    const value = config[`${alias}_${name}`];
    if (value === undefined) throw new Error(`${alias}_${name} is not set (have ${Object.keys(config).join(', ')})`);
    return value;
  };
  return { url: get('URL'), prefix: get('PREFIX'), username: get('USERNAME'), password: get('PASSWORD'), mechanism: get('SASL_MECHANISM') };
}

/** Kafka error ids (`TOPIC_AUTHORIZATION_FAILED`, …) anywhere in a client error. */
export function kafkaErrors(error: unknown): string[] {
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

export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

const hex = () => randomBytes(4).toString('hex');

/**
 * Kafka clients made from config vars only, as an app would make them (the `kafka://` scheme
 * stripped from KAFKA_URL); every client is closed by `closeAll`.
 */
export class KafkaClients {
  private readonly closers: (() => Promise<unknown>)[] = [];

  private options(vars: Pick<KafkaVars, 'url' | 'username' | 'password' | 'mechanism'>) {
    return {
      bootstrapBrokers: vars.url.split(',').map((u) => u.replace(/^kafka(\+ssl)?:\/\//, '')),
      sasl: { mechanism: vars.mechanism as 'SCRAM-SHA-512', username: vars.username, password: vars.password },
      connectTimeout: 5_000,
      requestTimeout: 5_000,
      retries: 0,
    };
  }

  private track<T extends { close(): Promise<void> }>(client: T): T {
    this.closers.push(() => client.close().catch(() => undefined));
    return client;
  }

  producer(vars: KafkaVars): Producer<string, string, string, string> {
    return this.track(new Producer({ clientId: `p-${hex()}`, serializers: stringSerializers, ...this.options(vars) }));
  }

  /** Retries what Kafka calls retriable (a group coordinator still loading on a fresh broker); never authorization errors. */
  consumer(vars: KafkaVars, groupId: string, groupProtocol: 'classic' | 'consumer' = 'classic'): Consumer<string, string, string, string> {
    return this.track(
      new Consumer({ clientId: `c-${hex()}`, groupId, groupProtocol, deserializers: stringDeserializers, ...this.options(vars), retries: 10, retryDelay: 300 }),
    );
  }

  admin(vars: Pick<KafkaVars, 'url' | 'username' | 'password' | 'mechanism'>): Admin {
    return this.track(new Admin({ clientId: `a-${hex()}`, ...this.options(vars) }));
  }

  async produce(vars: KafkaVars, topic: string, count: number, size = 16): Promise<void> {
    const value = 'x'.repeat(size);
    await this.producer(vars).send({ messages: Array.from({ length: count }, (_, i) => ({ topic, key: `k${i}`, value: `${i}:${value}` })) });
  }

  /** Reads `count` messages as the group, committing each. */
  async consume(vars: KafkaVars, topic: string, groupId: string, count: number, groupProtocol: 'classic' | 'consumer' = 'classic'): Promise<string[]> {
    const consumer = this.consumer(vars, groupId, groupProtocol);
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.COMMITTED, fallbackMode: 'earliest', autocommit: false, maxWaitTime: 200 });
    const values: string[] = [];
    try {
      for await (const message of stream) {
        values.push(message.value);
        await message.commit();
        if (values.length >= count) break;
      }
    } finally {
      await stream.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    }
    return values;
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0)) await close();
  }
}

/** What the cluster holds of a user, read as the super user: to check that nothing of a tenant is left. */
export class KafkaInspector {
  readonly admin: Admin;

  constructor(private readonly cluster: { bootstrapServers: string; adminUser: string; adminPassword: string }) {
    this.admin = new Admin({ clientId: 'test-inspector', bootstrapBrokers: [cluster.bootstrapServers], sasl: this.sasl() });
  }

  private sasl() {
    return { mechanism: 'SCRAM-SHA-512' as const, username: this.cluster.adminUser, password: this.cluster.adminPassword };
  }

  /** The SCRAM mechanisms the user has credentials for ([] when none). */
  async credentialsOf(username: string): Promise<number[]> {
    const [host, port] = this.cluster.bootstrapServers.split(':');
    const conn = new Connection('test-inspector', { sasl: this.sasl() });
    conn.on('error', () => undefined);
    await conn.connect(host, Number(port));
    try {
      const response = await describeUserScramCredentialsV0.api.async(conn, [{ name: username }]);
      return response.results.flatMap((r) => r.credentialInfos.map((c) => c.mechanism));
    } catch (error) {
      if (kafkaErrors(error).includes('RESOURCE_NOT_FOUND')) return [];
      throw error;
    } finally {
      await conn.close();
    }
  }

  aclsOf(username: string) {
    return this.admin.describeAcls({
      filter: {
        resourceType: ResourceTypes.ANY,
        resourceName: null,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal: `User:${username}`,
        host: null,
        operation: AclOperations.ANY,
        permissionType: AclPermissionTypes.ANY,
      },
    });
  }

  quotasOf(username: string) {
    return this.admin.describeClientQuotas({ components: [{ entityType: ClientQuotaEntityTypes.USER, matchType: ClientQuotaMatchTypes.EXACT, match: username }] });
  }

  close(): Promise<void> {
    return this.admin.close().catch(() => undefined);
  }
}
