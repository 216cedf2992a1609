import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Account } from '@app/domain';

@Entity('accounts')
export class AccountEntity implements Account {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') email!: string;
  @Column('text', { nullable: true }) name!: string | null;
  @Column('boolean', { name: 'is_operator', default: false }) isOperator!: boolean;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
