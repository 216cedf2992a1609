import { Column, Entity, PrimaryColumn } from 'typeorm';
import { ConfigVar } from '@app/domain';

@Entity('config_vars')
export class ConfigVarEntity implements ConfigVar {
  @PrimaryColumn('uuid', { name: 'app_id' }) appId!: string;
  @PrimaryColumn('text') name!: string;
  @Column('text', { name: 'value_sealed' }) valueSealed!: string;
  @Column('uuid', { name: 'attachment_id', nullable: true }) attachmentId!: string | null;
}
