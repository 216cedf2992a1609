import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsOptional, IsString, ValidateIf, ValidateNested } from 'class-validator';

export class ConfigEntryDto {
  @IsString() name!: string;
  @ValidateIf((_o, value) => value !== null) @IsString() value!: string | null;
}

export class UpdateAddonConfigRequestDto {
  @IsArray() @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => ConfigEntryDto) config!: ConfigEntryDto[];
}

export class TokenRequestDto {
  @IsOptional() @IsString() grant_type?: string;
  @IsOptional() @IsString() code?: string;
  @IsOptional() @IsString() refresh_token?: string;
  @IsOptional() @IsString() client_secret?: string;
}
