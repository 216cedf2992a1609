import fc from 'fast-check';
import { SecretBox } from '@app/common';
import { KafkaCluster, KafkaTenant } from './kafka.models';
import { kafkaConfig, kafkaUrl, newKafkaTenantName } from './kafka-config';
import { isKafkaPlan, kafkaPlanLimits } from './kafka-plans';
import { topicTraffic } from './kafka-traffic';

describe('kafka plans', () => {
  it('grow with the plan and refuse unknown ones', () => {
    const [b0, b1, b2] = ['basic-0', 'basic-1', 'basic-2'].map((name) => kafkaPlanLimits({ name }));
    expect(b0).toMatchObject({ topics: 10, partitionsPerTopic: 4, maxRetentionMs: 86_400_000 });
    for (const key of Object.keys(b0) as (keyof typeof b0)[]) {
      expect(b1[key]).toBeGreaterThan(b0[key]);
      expect(b2[key]).toBeGreaterThan(b1[key]);
    }
    expect(isKafkaPlan('basic-3')).toBe(false);
    expect(() => kafkaPlanLimits({ name: 'basic-3' })).toThrow('not a known plan');
  });
});

describe('kafka config vars', () => {
  it('name tenants word-digits, which with a dot make a prefix the admin adapter accepts', () => {
    for (let i = 0; i < 200; i++) {
      const name = newKafkaTenantName();
      expect(name).toMatch(/^[a-z]+-\d{5}$/);
      expect(`${name}.`).toMatch(/^[A-Za-z0-9._-]+[._-]$/);
    }
  });

  it('give KAFKA_URL one kafka:// URL per bootstrap server', () => {
    expect(kafkaUrl('127.0.0.1:9094')).toBe('kafka://127.0.0.1:9094');
    expect(kafkaUrl('a:1, b:2,')).toBe('kafka://a:1,kafka://b:2');
  });

  it('carry the tenant’s names and password, and nothing of the super user', () => {
    const box = new SecretBox(Buffer.alloc(32, 7));
    const now = new Date();
    const cluster: KafkaCluster = {
      id: 'c', name: 'kafka-1', bootstrapServers: 'k1:9092,k2:9092', adminUser: 'attache', adminPasswordSealed: box.seal('super-secret'),
      capacity: 10, state: 'active', createdAt: now, updatedAt: now,
    };
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (password) => {
        const tenant: KafkaTenant = {
          addonId: 'a', clusterId: 'c', state: 'active', prefix: 'oak-12345.', username: 'oak-12345', passwordSealed: box.seal(password),
          pendingPasswordSealed: null, pendingSince: null, createdAt: now, updatedAt: now, destroyedAt: null,
        };
        const config = kafkaConfig(tenant, cluster, box);
        expect(config).toEqual({
          KAFKA_URL: 'kafka://k1:9092,kafka://k2:9092',
          KAFKA_PREFIX: 'oak-12345.',
          KAFKA_USERNAME: 'oak-12345',
          KAFKA_PASSWORD: password,
          KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        });
        expect(JSON.stringify(config)).not.toContain('super-secret');
      }),
    );
  });
});

describe('kafka topic traffic', () => {
  const live = { name: 'p.t', partitions: 2, startOffsets: 10, endOffsets: 110, sizeBytes: 10_000, committedOffsets: 90 };
  const sample = { addonId: 'a', topic: 't', sampledAt: new Date(), endOffsets: 60, startOffsets: 0, sizeBytes: 5_000, committedOffsets: 50 };

  it('is the growth of the offsets since the sample, bytes at the average message size on disk', () => {
    expect(topicTraffic('t', live, sample)).toEqual({ topic: 't', partitions: 2, sizeBytes: 10_000, messagesIn: 50, messagesOut: 40, bytesIn: 5_000, bytesOut: 4_000 });
  });

  it('is unknown without a sample, starts over when a topic was deleted and made again, and is unknown when commits went back', () => {
    expect(topicTraffic('t', live, undefined)).toMatchObject({ messagesIn: null, messagesOut: null, bytesIn: null, bytesOut: null });
    expect(topicTraffic('t', { ...live, endOffsets: 30, committedOffsets: 5 }, { ...sample, endOffsets: 500, committedOffsets: 400 })).toMatchObject({
      messagesIn: 30,
      messagesOut: null,
      bytesOut: null,
    });
  });
});
