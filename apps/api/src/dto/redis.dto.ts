import { IsInt, IsOptional, IsString, Min } from 'class-validator';

export class UpdateRedisRequestDto {
  /** One of Redis's eviction policies (noeviction, allkeys-lru, …). */
  @IsOptional() @IsString() maxmemory_policy?: string | null;
  /** Seconds an idle client connection is kept; 0 keeps it forever. */
  @IsOptional() @IsInt() @Min(0) timeout?: number | null;
}
