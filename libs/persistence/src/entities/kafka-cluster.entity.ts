import { Column, Entity, PrimaryColumn } from 'typeorm';
import { KafkaCluster, KafkaClusterState } from '@app/domain';

@Entity('kafka_clusters')
export class KafkaClusterEntity implements KafkaCluster {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'bootstrap_servers' }) bootstrapServers!: string;
  @Column('text', { name: 'admin_user' }) adminUser!: string;
  @Column('text', { name: 'admin_password_sealed' }) adminPasswordSealed!: string;
  @Column('integer') capacity!: number;
  @Column('text') state!: KafkaClusterState;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
