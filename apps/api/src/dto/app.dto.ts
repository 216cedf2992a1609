import { IsOptional, IsString } from 'class-validator';

export class CreateAppRequestDto {
  @IsOptional() @IsString() name?: string | null;
  @IsOptional() @IsString() region?: string | null;
  @IsOptional() @IsString() stack?: string | null;
}

export class UpdateAppRequestDto {
  @IsOptional() @IsString() name?: string;
}

export class CreateCollaboratorRequestDto {
  @IsString() user!: string;
}
