import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';
import { IsRef, IsStringMap } from '../http/validation';

export class AttachmentNameDto {
  @IsOptional() @IsString() name?: string | null;
}

export class CreateAddonRequestDto {
  @IsRef() plan!: string | { id?: string; name?: string };
  @IsOptional() @IsString() name?: string | null;
  @IsOptional() @IsObject() @ValidateNested() @Type(() => AttachmentNameDto) attachment?: AttachmentNameDto | null;
  @IsOptional() @IsStringMap({ scalars: true }) config?: Record<string, string | boolean | number> | null;
  @IsOptional() @IsString() confirm?: string | null;
}

export class UpdateAddonRequestDto {
  @IsOptional() @IsRef() plan?: string | { id?: string; name?: string };
  @IsOptional() @IsString() name?: string;
}

export class DeleteAddonRequestDto {
  @IsOptional() @IsBoolean() force?: boolean;
}

export class ResolveAddonRequestDto {
  @IsString() addon!: string;
  @IsOptional() @IsString() app?: string | null;
  @IsOptional() @IsString() addon_service?: string | null;
}

export class ResolveAttachmentRequestDto {
  @IsString() addon_attachment!: string;
  @IsOptional() @IsString() app?: string | null;
  @IsOptional() @IsString() addon_service?: string | null;
}

export class CreateAttachmentRequestDto {
  @IsRef() addon!: string | { id?: string; name?: string };
  @IsRef() app!: string | { id?: string; name?: string };
  @IsOptional() @IsString() name?: string | null;
  @IsOptional() @IsString() namespace?: string | null;
  @IsOptional() @IsString() confirm?: string | null;
}
