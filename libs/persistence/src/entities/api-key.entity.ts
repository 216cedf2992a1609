import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'account_id' }) accountId!: string;
  @Column('text', { name: 'token_hash' }) tokenHash!: string;
  @Column('text') label!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}
