import { Injectable } from '@nestjs/common';
import { Clock, SecretBox, randomToken } from '@app/common';
import {
  Addon,
  AddonService,
  DeprovisionOutcome,
  KafkaCluster,
  KafkaClusterAdmin,
  KafkaClusterConnection,
  KafkaTenant,
  KafkaTopicInfo,
  Plan,
  PlanChangeOutcome,
  ProviderRefusedError,
  ProviderUnavailableError,
  ProvisionOutcome,
  ProvisionRequest,
  Provisioner,
  Store,
  isKafkaPlan,
  kafkaConfig,
  kafkaConnection,
  kafkaPlanLimits,
  newKafkaTenantName,
} from '@app/domain';

/** Attempts at a tenant name no tenant has used; with 24 × 90 000 names, collisions are rare. */
const NAME_ATTEMPTS = 20;

const quotas = (plan: Plan) => {
  const limits = kafkaPlanLimits(plan);
  return { producerByteRate: limits.producerByteRate, consumerByteRate: limits.consumerByteRate };
};

/**
 * Kafka basic plans: a tenant on the least loaded registered cluster, with its own prefix, SCRAM
 * user, PREFIXED ACLs and quotas. The tenant (names and password) is recorded before the cluster
 * changes, so a retry makes the same tenant and deprovision knows what to remove.
 */
@Injectable()
export class KafkaProvisioner extends Provisioner {
  constructor(
    private readonly store: Store,
    private readonly admin: KafkaClusterAdmin,
    private readonly box: SecretBox,
    private readonly clock: Clock,
  ) {
    super();
  }

  async provision(request: ProvisionRequest): Promise<ProvisionOutcome> {
    const { addon, plan } = request;
    if (!isKafkaPlan(plan.name)) throw new ProviderRefusedError(`kafka:${plan.name} is not available.`);
    const { tenant, cluster } = await this.place(addon);
    await this.admin.createTenant(kafkaConnection(cluster, this.box), {
      username: tenant.username,
      password: this.box.open(tenant.passwordSealed),
      prefix: tenant.prefix,
      limits: quotas(plan),
    });
    return { kind: 'provisioned', providerId: null, config: kafkaConfig(tenant, cluster, this.box), message: null };
  }

  /**
   * Quotas and topic settings change in place; a plan too small for the topics the add-on has is
   * refused. Under the add-on's lock, so topic changes wait (they count against the stricter of
   * the two plans while the change is pending). The config vars stay as they are.
   */
  async changePlan(request: { addon: Addon; service: AddonService; plan: Plan }): Promise<PlanChangeOutcome> {
    const { addon, plan } = request;
    if (!isKafkaPlan(plan.name)) throw new ProviderRefusedError(`kafka:${plan.name} is not available.`);
    await this.store.transaction(async (tx) => {
      await tx.addons.findByIdForUpdate(addon.id);
      const tenant = await tx.kafka.tenants.findByAddonForUpdate(addon.id);
      if (!tenant || tenant.state !== 'active') throw new ProviderUnavailableError(`${addon.name} has no Kafka tenant yet.`);
      const cluster = (await tx.kafka.clusters.findById(tenant.clusterId))!;
      const connection = kafkaConnection(cluster, this.box);
      const limits = kafkaPlanLimits(plan);
      const topics = await this.admin.listTopics(connection, tenant.prefix);
      if (topics.length > limits.topics) {
        throw new ProviderRefusedError(`kafka:${plan.name} allows ${limits.topics} topics and ${addon.name} has ${topics.length}; delete some first.`);
      }
      const wide = topics.filter((t) => t.partitions > limits.partitionsPerTopic).map((t) => t.name.slice(tenant.prefix.length));
      if (wide.length) {
        throw new ProviderRefusedError(`kafka:${plan.name} allows ${limits.partitionsPerTopic} partitions per topic; ${wide.join(', ')} ${wide.length === 1 ? 'has' : 'have'} more.`);
      }
      try {
        await this.applyPlan(connection, tenant, plan, topics);
      } catch (error) {
        // Back to the plan the add-on is still on: if this was the last attempt, it must not run
        // (or be billed) as the other one.
        const current = await tx.plans.findById(addon.planId);
        if (current && isKafkaPlan(current.name)) await this.applyPlan(connection, tenant, current, topics).catch(() => undefined);
        throw error;
      }
    });
    return { kind: 'changed', config: null, message: null };
  }

  /** The plan's quotas, and its retention bounds on every topic (`retention.ms` lowered where it is above the plan's). */
  private async applyPlan(connection: KafkaClusterConnection, tenant: KafkaTenant, plan: Plan, topics: KafkaTopicInfo[]): Promise<void> {
    const limits = kafkaPlanLimits(plan);
    await this.admin.setLimits(connection, tenant.username, quotas(plan));
    for (const topic of topics) {
      const retentionMs = Number(topic.config['retention.ms']);
      await this.admin.configureTopic(connection, topic.name, {
        retentionBytes: limits.retentionBytesPerPartition,
        ...(!(retentionMs > 0 && retentionMs <= limits.maxRetentionMs) ? { retentionMs: limits.maxRetentionMs } : {}),
      });
    }
  }

  async deprovision(request: { addon: Addon; service: AddonService }): Promise<DeprovisionOutcome> {
    const { addon } = request;
    const tenant = await this.store.kafka.tenants.findByAddon(addon.id);
    if (tenant) {
      // Also when already destroyed: a provision that was still running when the first drop ran
      // may have made the user, ACLs or quotas again. Dropping what is gone costs a few lookups.
      const cluster = (await this.store.kafka.clusters.findById(tenant.clusterId))!;
      await this.admin.dropTenant(kafkaConnection(cluster, this.box), { username: tenant.username, prefix: tenant.prefix });
      if (tenant.state === 'active') {
        const now = this.clock.now();
        await this.store.kafka.tenants.update(addon.id, { state: 'destroyed', destroyedAt: now, pendingPasswordSealed: null, pendingSince: null, updatedAt: now });
      }
    }
    return { kind: 'deprovisioned' };
  }

  /** The add-on's tenant and cluster: found (a retry) or placed now. */
  private place(addon: Addon): Promise<{ tenant: KafkaTenant; cluster: KafkaCluster }> {
    return this.store.transaction(async (tx) => {
      const existing = await tx.kafka.tenants.findByAddon(addon.id);
      if (existing) {
        if (existing.state !== 'active') throw new ProviderRefusedError(`${addon.name}'s Kafka tenant was already destroyed.`);
        return { tenant: existing, cluster: (await tx.kafka.clusters.findById(existing.clusterId))! };
      }
      const cluster = await tx.kafka.clusters.lockLeastLoaded();
      if (!cluster) throw new ProviderUnavailableError('No Kafka cluster has room for another tenant.');
      let name: string | null = null;
      for (let attempt = 0; attempt < NAME_ATTEMPTS && name === null; attempt++) {
        const candidate = newKafkaTenantName();
        if (!(await tx.kafka.tenants.nameTaken(`${candidate}.`, candidate))) name = candidate;
      }
      if (name === null) throw new ProviderUnavailableError('No free Kafka tenant name was found; try again.');
      const now = this.clock.now();
      const tenant: KafkaTenant = {
        addonId: addon.id,
        clusterId: cluster.id,
        state: 'active',
        prefix: `${name}.`,
        username: name,
        passwordSealed: this.box.seal(randomToken(40)),
        pendingPasswordSealed: null,
        pendingSince: null,
        createdAt: now,
        updatedAt: now,
        destroyedAt: null,
      };
      await tx.kafka.tenants.create(tenant);
      return { tenant, cluster };
    });
  }
}
