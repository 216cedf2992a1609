import { Column, Entity, PrimaryColumn } from 'typeorm';
import { Plan, PlanMeter, PlanState } from '@app/domain';

@Entity('plans')
export class PlanEntity implements Plan {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'service_id' }) serviceId!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'human_name' }) humanName!: string;
  @Column('text') description!: string;
  @Column('integer', { name: 'price_cents' }) priceCents!: number;
  @Column('text', { name: 'price_unit' }) priceUnit!: string;
  @Column('boolean', { name: 'is_default' }) isDefault!: boolean;
  @Column('text') state!: PlanState;
  @Column('jsonb') meters!: PlanMeter[];
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
}
