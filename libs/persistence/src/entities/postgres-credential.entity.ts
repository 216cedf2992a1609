import { Column, Entity, PrimaryColumn } from 'typeorm';
import { PostgresCredential, PostgresCredentialState } from '@app/domain';

@Entity('postgres_credentials')
export class PostgresCredentialEntity implements PostgresCredential {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'role_name' }) roleName!: string;
  @Column('text', { name: 'password_sealed' }) passwordSealed!: string;
  @Column('text', { name: 'pending_password_sealed', nullable: true }) pendingPasswordSealed!: string | null;
  @Column('timestamptz', { name: 'pending_since', nullable: true }) pendingSince!: Date | null;
  @Column('text') state!: PostgresCredentialState;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'rotated_at', nullable: true }) rotatedAt!: Date | null;
  @Column('timestamptz', { name: 'destroyed_at', nullable: true }) destroyedAt!: Date | null;
  @Column('timestamptz', { name: 'role_dropped_at', nullable: true }) roleDroppedAt!: Date | null;
}
