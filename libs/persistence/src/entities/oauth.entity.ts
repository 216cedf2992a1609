import { Column, Entity, PrimaryColumn } from 'typeorm';
import { OAuthGrantRecord, OAuthTokenRecord } from '@app/domain';

@Entity('oauth_grants')
export class OAuthGrantEntity implements OAuthGrantRecord {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('text', { name: 'code_hash' }) codeHash!: string;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'exchanged_at', nullable: true }) exchangedAt!: Date | null;
}

@Entity('oauth_tokens')
export class OAuthTokenEntity implements OAuthTokenRecord {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'addon_id' }) addonId!: string;
  @Column('text', { name: 'access_hash' }) accessHash!: string;
  @Column('text', { name: 'refresh_hash' }) refreshHash!: string;
  @Column('timestamptz', { name: 'access_expires_at' }) accessExpiresAt!: Date;
  @Column('timestamptz', { name: 'revoked_at', nullable: true }) revokedAt!: Date | null;
}
