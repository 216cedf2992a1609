import { IsBoolean, IsInt, IsOptional, IsString, Min } from 'class-validator';

export class UpdateKafkaTopicRequestDto {
  /** More partitions (Kafka never removes any), up to the plan's limit. */
  @IsOptional() @IsInt() @Min(1) partitions?: number | null;
  /** How long messages are kept, up to the plan's maximum. */
  @IsOptional() @IsInt() @Min(1) retention_ms?: number | null;
  /** `cleanup.policy=compact` when true, `delete` when false. */
  @IsOptional() @IsBoolean() compaction?: boolean | null;
}

export class CreateKafkaTopicRequestDto extends UpdateKafkaTopicRequestDto {
  /** Without the prefix, which Attache adds. */
  @IsString() name!: string;
}
