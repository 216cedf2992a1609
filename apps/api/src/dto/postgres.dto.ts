import { IsInt, IsOptional, IsString, Max, Min, ValidateIf } from 'class-validator';

export class CreateCredentialRequestDto {
  @IsString() name!: string;
}

export class RestoreRequestDto {
  /** The backup: its id, or its name (`b001`) on the source add-on. */
  @IsString() backup!: string;
  /** The add-on the backup was taken of, when it is not the one restored into. */
  @IsOptional() @IsString() from?: string | null;
  @IsOptional() @IsString() confirm?: string | null;
}

export class BackupScheduleRequestDto {
  /** Hour of the day (UTC) of the daily backup; null stops the schedule. */
  @ValidateIf((_, value) => value !== null) @IsInt() @Min(0) @Max(23) hour!: number | null;
}
