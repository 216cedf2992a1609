import { Injectable, Logger } from '@nestjs/common';
import { Clock, ConflictError, DomainError, InvalidInputError, NotFoundError, SecretBox, randomToken } from '@app/common';
import { Store } from '../shared/store.port';
import { KafkaAddon, KafkaAddons } from './kafka-addons';
import { KafkaClusterAdmin, KafkaGroupLag, KafkaTopicCounters, KafkaTopicInfo } from './kafka-cluster.port';
import { KafkaConfigPublisher, kafkaConfig, kafkaConnection } from './kafka-config';
import { KafkaPlanLimits, isKafkaPlan, kafkaPlanLimits } from './kafka-plans';
import { KafkaTopicSample } from './kafka.models';
import { KafkaTopicTraffic, topicTraffic } from './kafka-traffic';
import { FirstPartyUsage } from '../billing/first-party-usage';
import { firstPartyServiceId } from '../catalog/first-party-catalog';

/** A rotation pending longer than this was interrupted. */
const REPAIR_AFTER_MS = 60_000;
/** Samples are kept this long; the traffic window reaches back at most `MAX_WINDOW_MINUTES`. */
const SAMPLES_KEPT_MS = 2 * 3600_000;
export const MAX_WINDOW_MINUTES = 60;
const MIN_RETENTION_MS = 60_000;
/** Kafka's own limit on a topic name, the prefix included. */
const MAX_TOPIC_NAME = 249;
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Looks (100 ms apart) for a topic just created to show in the metadata. */
const TOPIC_VISIBLE_ATTEMPTS = 50;

/** A broker that cannot be reached is the service being unavailable (503), not Attache failing (500). */
async function unavailableOnFailure<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('unavailable', 'kafka_unavailable', `The Kafka cluster did not answer (${(error as Error).message}); try again shortly.`);
  }
}

/** A topic as the tenant names it (without its prefix). */
export interface KafkaTopicView extends KafkaTopicInfo {
  shortName: string;
}

export interface KafkaMetrics {
  window: { start: Date | null; end: Date; minutes: number };
  topics: KafkaTopicTraffic[];
}

export interface CreateKafkaTopicInput {
  name: string;
  partitions?: number | null;
  retentionMs?: number | null;
  compaction?: boolean | null;
}

export type ConfigureKafkaTopicInput = Omit<CreateKafkaTopicInput, 'name'>;

/**
 * What a developer does with a Kafka add-on besides the lifecycle: topics within the plan's
 * limits, consumer groups and lag, traffic, credential rotation; and the sampling the worker runs.
 */
@Injectable()
export class KafkaOperationsUseCase {
  private readonly logger = new Logger(KafkaOperationsUseCase.name);

  constructor(
    private readonly store: Store,
    private readonly addons: KafkaAddons,
    private readonly admin: KafkaClusterAdmin,
    private readonly publisher: KafkaConfigPublisher,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly usage: FirstPartyUsage,
  ) {}

  /** The last usage period each tenant's produced bytes were recorded for, in this process. */
  private readonly producedRecorded = new Map<string, number>();

  /** The add-on, its limits and the traffic of its topics over the last `minutes`. */
  async info(accountId: string, addonRef: string, minutes = 5): Promise<{ target: KafkaAddon; limits: KafkaPlanLimits; metrics: KafkaMetrics }> {
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_WINDOW_MINUTES) {
      throw new InvalidInputError(`minutes is a whole number from 1 to ${MAX_WINDOW_MINUTES}.`);
    }
    const target = await this.addons.viewable(accountId, addonRef);
    const end = this.clock.now();
    const [live, earliest] = await Promise.all([
      unavailableOnFailure(() => this.admin.topicCounters(kafkaConnection(target.cluster, this.box), target.tenant.prefix)),
      this.store.kafka.samples.earliestSince(target.addon.id, new Date(end.getTime() - minutes * 60_000)),
    ]);
    const base = new Map(earliest.map((s) => [s.topic, s]));
    const topics = live.map((counters) => topicTraffic(this.shortName(target, counters.name), counters, base.get(this.shortName(target, counters.name))));
    const starts = earliest.filter((s) => live.some((c) => this.shortName(target, c.name) === s.topic)).map((s) => s.sampledAt.getTime());
    return {
      target,
      limits: kafkaPlanLimits(target.plan),
      metrics: { window: { start: starts.length ? new Date(Math.min(...starts)) : null, end, minutes }, topics },
    };
  }

  async listTopics(accountId: string, addonRef: string): Promise<{ target: KafkaAddon; topics: KafkaTopicView[] }> {
    const target = await this.addons.viewable(accountId, addonRef);
    return { target, topics: await this.topics(target) };
  }

  async getTopic(accountId: string, addonRef: string, name: string): Promise<{ target: KafkaAddon; topic: KafkaTopicView }> {
    const target = await this.addons.viewable(accountId, addonRef);
    return { target, topic: await this.findTopic(target, name) };
  }

  /** Creates `<prefix><name>` within the plan's limits. */
  async createTopic(accountId: string, addonRef: string, input: CreateKafkaTopicInput): Promise<{ target: KafkaAddon; topic: KafkaTopicView }> {
    const target = await this.addons.manageable(accountId, addonRef);
    const name = this.checkTopicName(target, input.name);
    return this.underLock(target, async (locked, limits) => {
      const partitions = input.partitions ?? 1;
      this.checkPartitions(locked, limits, partitions);
      const retentionMs = input.retentionMs ?? limits.maxRetentionMs;
      this.checkRetention(locked, limits, retentionMs);
      const existing = await this.topics(locked);
      if (existing.some((t) => t.shortName === name)) throw new ConflictError('topic_exists', `${locked.addon.name} already has a topic named ${name}.`);
      // Kafka refuses topics whose names differ only in '.' and '_' (their metric names collide).
      const clash = existing.find((t) => t.shortName.replace(/\./g, '_') === name.replace(/\./g, '_'));
      if (clash) throw new ConflictError('topic_exists', `${name} would collide with topic ${clash.shortName}: Kafka treats '.' and '_' alike in topic names.`);
      if (existing.length >= limits.topics) {
        throw new InvalidInputError(`${this.planLabel(locked)} allows ${limits.topics} topics and ${locked.addon.name} has ${existing.length}; delete one or upgrade.`, 'plan_limit');
      }
      await unavailableOnFailure(() =>
        this.admin.createTopic(kafkaConnection(locked.cluster, this.box), {
          name: locked.tenant.prefix + name,
          partitions,
          retentionMs,
          retentionBytes: limits.retentionBytesPerPartition,
          compaction: input.compaction ?? false,
        }),
      );
      // A new topic reaches the cluster's metadata a moment after it is created.
      for (let attempt = 0; ; attempt++) {
        try {
          return { target: locked, topic: await this.findTopic(locked, name) };
        } catch (error) {
          if (!(error instanceof NotFoundError)) throw error;
          // Still not listed: deleting a topic of that name finishes in the background, and until then the name is taken.
          if (attempt >= TOPIC_VISIBLE_ATTEMPTS) throw new ConflictError('topic_exists', `A topic named ${name} is still being deleted; try again shortly.`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    });
  }

  /** Retention, compaction and more partitions (Kafka never removes partitions). */
  async configureTopic(accountId: string, addonRef: string, name: string, input: ConfigureKafkaTopicInput): Promise<{ target: KafkaAddon; topic: KafkaTopicView }> {
    const target = await this.addons.manageable(accountId, addonRef);
    const has = (v: unknown) => v !== undefined && v !== null;
    if (!has(input.partitions) && !has(input.retentionMs) && !has(input.compaction)) throw new InvalidInputError('Pass partitions, retention_ms or compaction.');
    return this.underLock(target, async (locked, limits) => {
      if (has(input.retentionMs)) this.checkRetention(locked, limits, input.retentionMs!);
      if (has(input.partitions)) this.checkPartitions(locked, limits, input.partitions!);
      const topic = await this.findTopic(locked, name);
      const cluster = kafkaConnection(locked.cluster, this.box);
      if (has(input.partitions) && input.partitions! !== topic.partitions) {
        if (input.partitions! < topic.partitions) {
          throw new InvalidInputError(`${topic.shortName} has ${topic.partitions} partitions; Kafka can add partitions but never remove them.`);
        }
        await unavailableOnFailure(() => this.admin.addPartitions(cluster, topic.name, input.partitions!));
      }
      const config = {
        ...(has(input.retentionMs) ? { retentionMs: input.retentionMs! } : {}),
        ...(has(input.compaction) ? { compaction: input.compaction! } : {}),
      };
      await unavailableOnFailure(() => this.admin.configureTopic(cluster, topic.name, config));
      return { target: locked, topic: await this.findTopic(locked, name) };
    });
  }

  async deleteTopic(accountId: string, addonRef: string, name: string): Promise<{ target: KafkaAddon; topic: KafkaTopicView }> {
    const target = await this.addons.manageable(accountId, addonRef);
    return this.underLock(target, async (locked) => {
      const topic = await this.findTopic(locked, name);
      await unavailableOnFailure(() => this.admin.deleteTopic(kafkaConnection(locked.cluster, this.box), topic.name));
      return { target: locked, topic };
    });
  }

  async consumerGroups(accountId: string, addonRef: string): Promise<{ target: KafkaAddon; groups: (KafkaGroupLag & { shortName: string })[] }> {
    const target = await this.addons.viewable(accountId, addonRef);
    const groups = await unavailableOnFailure(() => this.admin.listGroups(kafkaConnection(target.cluster, this.box), target.tenant.prefix));
    return {
      target,
      groups: groups.map((g) => ({
        ...g,
        shortName: this.shortName(target, g.group),
        partitions: g.partitions.map((p) => ({ ...p, topic: this.shortName(target, p.topic) })),
      })),
    };
  }

  /** The config vars with the password (billing-app members only). */
  async credentials(accountId: string, addonRef: string): Promise<{ target: KafkaAddon; config: Record<string, string> }> {
    const target = await this.addons.manageable(accountId, addonRef);
    return { target, config: kafkaConfig(target.tenant, target.cluster, this.box) };
  }

  /**
   * A new password: logins with the old one fail at once, sessions opened with it end at their
   * next re-authentication (the cluster's `connections.max.reauth.ms`), and every attached app
   * gets the new one in one release.
   */
  async rotate(accountId: string, addonRef: string): Promise<KafkaAddon> {
    const target = await this.addons.manageable(accountId, addonRef);
    await this.store.transaction(async (tx) => {
      if (!(await this.addons.locked(tx, target.addon.id))) {
        throw new InvalidInputError(`${target.addon.name} is being destroyed; its password cannot change now.`, 'addon_not_ready');
      }
      await tx.kafka.tenants.update(target.addon.id, { pendingPasswordSealed: this.box.seal(randomToken(40)), pendingSince: this.clock.now() });
    });
    const finished = await this.finishRotation(target.addon.id);
    if (!finished) throw new InvalidInputError(`${target.addon.name} is being destroyed; its password cannot change now.`, 'addon_not_ready');
    return finished;
  }

  /**
   * The worker's run: a sample of every tenant's topic counters (the traffic history), old
   * samples pruned, interrupted rotations finished.
   */
  async sample(): Promise<{ tenants: number; samples: number; rotations: number; failures: number }> {
    const result = { tenants: 0, samples: 0, rotations: 0, failures: 0 };
    const now = this.clock.now();
    for (const pending of await this.store.kafka.tenants.listPendingRotation(new Date(now.getTime() - REPAIR_AFTER_MS), 100)) {
      try {
        if (await this.finishRotation(pending.addonId)) result.rotations++;
      } catch (error) {
        result.failures++;
        this.logger.warn({ addonId: pending.addonId, err: (error as Error).message }, 'finishing a Kafka password rotation failed; will retry');
      }
    }
    const clusters = new Map((await this.store.kafka.clusters.list()).map((c) => [c.id, c]));
    for (const tenant of await this.store.kafka.tenants.listActive()) {
      const cluster = clusters.get(tenant.clusterId);
      if (!cluster) continue;
      try {
        const counters = await this.admin.topicCounters(kafkaConnection(cluster, this.box), tenant.prefix);
        const sampledAt = this.clock.now();
        const samples: KafkaTopicSample[] = counters.map((c) => ({
          addonId: tenant.addonId,
          topic: c.name.slice(tenant.prefix.length),
          sampledAt,
          endOffsets: c.endOffsets,
          startOffsets: c.startOffsets,
          sizeBytes: c.sizeBytes,
          committedOffsets: c.committedOffsets,
        }));
        if (samples.length) await this.store.kafka.samples.add(samples);
        await this.recordProduced(tenant.addonId, tenant.prefix, counters, sampledAt);
        result.tenants++;
        result.samples += samples.length;
      } catch (error) {
        result.failures++;
        this.logger.warn({ addonId: tenant.addonId, cluster: cluster.name, err: (error as Error).message }, 'sampling Kafka topics failed');
      }
    }
    await this.store.kafka.samples.prune(new Date(now.getTime() - SAMPLES_KEPT_MS));
    return result;
  }

  /**
   * At the first sample of a usage period, the bytes the tenant produced in the period before
   * (from its first sample in that period to now; first-party metering, docs/billing.md).
   */
  private async recordProduced(addonId: string, prefix: string, counters: KafkaTopicCounters[], now: Date): Promise<void> {
    const current = this.usage.periodOf(now);
    const previous = this.usage.periodOf(new Date(current.getTime() - 1));
    if (this.producedRecorded.get(addonId) === previous.getTime()) return;
    const base = (await this.store.kafka.samples.earliestSince(addonId, previous)).filter((s) => s.sampledAt < current);
    if (base.length) {
      const byTopic = new Map(base.map((s) => [s.topic, s]));
      const bytes = counters.reduce((sum, c) => {
        const topic = c.name.slice(prefix.length);
        return sum + (topicTraffic(topic, c, byTopic.get(topic)).bytesIn ?? 0);
      }, 0);
      await this.usage.recordAmount(firstPartyServiceId('kafka'), addonId, 'produced_kb', bytes, previous);
    }
    this.producedRecorded.set(addonId, previous.getTime());
  }

  /** Applies the pending password on the cluster and publishes it, with the add-on locked. Null if it is not provisioned. */
  private finishRotation(addonId: string): Promise<KafkaAddon | null> {
    return this.store.transaction(async (tx) => {
      const locked = await this.addons.locked(tx, addonId);
      if (!locked || !locked.tenant.pendingPasswordSealed) return locked;
      const password = this.box.open(locked.tenant.pendingPasswordSealed);
      await unavailableOnFailure(() => this.admin.setPassword(kafkaConnection(locked.cluster, this.box), locked.tenant.username, password));
      const now = this.clock.now();
      const patch = { passwordSealed: locked.tenant.pendingPasswordSealed, pendingPasswordSealed: null, pendingSince: null, updatedAt: now };
      const tenant = { ...locked.tenant, ...patch };
      await tx.kafka.tenants.update(addonId, patch);
      await this.publisher.publish(tx, locked.addon, locked.service, tenant, locked.cluster, `Rotate the credentials of ${locked.addon.name}`, now);
      await tx.events.append({ type: 'addon.credentials_rotated', addonId, appId: locked.addon.appId, occurredAt: now, data: {} });
      return { ...locked, tenant };
    });
  }

  /**
   * Topic changes of one add-on happen one at a time (and not during a plan change's work), so
   * limits count every topic. While a plan change is pending, the stricter of the two plans applies.
   */
  private underLock<T>(target: KafkaAddon, work: (locked: KafkaAddon, limits: KafkaPlanLimits) => Promise<T>): Promise<T> {
    return this.store.transaction(async (tx) => {
      const locked = await this.addons.locked(tx, target.addon.id);
      if (!locked) throw new InvalidInputError(`${target.addon.name} is being destroyed; its topics cannot change now.`, 'addon_not_ready');
      let limits = kafkaPlanLimits(locked.plan);
      const pending = locked.addon.pendingPlanId ? await tx.plans.findById(locked.addon.pendingPlanId) : null;
      if (pending && isKafkaPlan(pending.name)) {
        const next = kafkaPlanLimits(pending);
        limits = Object.fromEntries(Object.entries(limits).map(([key, value]) => [key, Math.min(value, next[key as keyof KafkaPlanLimits])])) as unknown as KafkaPlanLimits;
      }
      return work(locked, limits);
    });
  }

  /** The plan the limits come from, both while a change is pending. */
  private planLabel(target: KafkaAddon): string {
    return target.addon.pendingPlanId ? `kafka:${target.plan.name} (with a plan change pending)` : `kafka:${target.plan.name}`;
  }

  private async topics(target: KafkaAddon): Promise<KafkaTopicView[]> {
    const topics = await unavailableOnFailure(() => this.admin.listTopics(kafkaConnection(target.cluster, this.box), target.tenant.prefix));
    return topics.map((t) => ({ ...t, shortName: this.shortName(target, t.name) }));
  }

  /** By the name the tenant uses, or else its full name (prefix included). */
  private async findTopic(target: KafkaAddon, name: string): Promise<KafkaTopicView> {
    const topics = await this.topics(target);
    const topic = topics.find((t) => t.shortName === name) ?? topics.find((t) => t.name === name);
    if (!topic) throw new NotFoundError('topic', `${target.addon.name} has no topic named ${name}.`);
    return topic;
  }

  private shortName(target: KafkaAddon, name: string): string {
    return name.startsWith(target.tenant.prefix) ? name.slice(target.tenant.prefix.length) : name;
  }

  private checkTopicName(target: KafkaAddon, name: unknown): string {
    if (typeof name !== 'string' || !TOPIC_NAME.test(name)) {
      throw new InvalidInputError('A topic name is letters, digits, dots, dashes and underscores, starting with a letter or digit.');
    }
    const short = name.startsWith(target.tenant.prefix) ? name.slice(target.tenant.prefix.length) : name;
    if (!TOPIC_NAME.test(short)) throw new InvalidInputError('A topic name needs something after the prefix.');
    if (short.startsWith(target.tenant.prefix)) throw new InvalidInputError(`Give the topic's name without the prefix ${target.tenant.prefix}.`);
    if (target.tenant.prefix.length + short.length > MAX_TOPIC_NAME) {
      throw new InvalidInputError(`A topic name is at most ${MAX_TOPIC_NAME - target.tenant.prefix.length} characters (${MAX_TOPIC_NAME} with the prefix ${target.tenant.prefix}).`);
    }
    return short;
  }

  private checkPartitions(target: KafkaAddon, limits: KafkaPlanLimits, partitions: number): void {
    if (!Number.isInteger(partitions) || partitions < 1) throw new InvalidInputError('partitions is a whole number from 1.');
    if (partitions > limits.partitionsPerTopic) {
      throw new InvalidInputError(`${this.planLabel(target)} allows 1 to ${limits.partitionsPerTopic} partitions per topic.`, 'plan_limit');
    }
  }

  private checkRetention(target: KafkaAddon, limits: KafkaPlanLimits, retentionMs: number): void {
    if (!Number.isInteger(retentionMs) || retentionMs < MIN_RETENTION_MS) throw new InvalidInputError(`retention_ms is a whole number from ${MIN_RETENTION_MS}.`);
    if (retentionMs > limits.maxRetentionMs) {
      throw new InvalidInputError(`${this.planLabel(target)} allows retention_ms from ${MIN_RETENTION_MS} to ${limits.maxRetentionMs}.`, 'plan_limit');
    }
  }
}
