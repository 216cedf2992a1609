import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PostgresBackend, PostgresBackendState } from '@app/domain';

@Entity('postgres_backends')
export class PostgresBackendEntity implements PostgresBackend {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') host!: string;
  @Column('integer') port!: number;
  @Column('text', { name: 'admin_user' }) adminUser!: string;
  @Column('text', { name: 'admin_password_sealed' }) adminPasswordSealed!: string;
  @Column('text', { name: 'maintenance_database' }) maintenanceDatabase!: string;
  @Column('integer') capacity!: number;
  @Column('text') state!: PostgresBackendState;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
