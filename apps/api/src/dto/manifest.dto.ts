import { IsObject } from 'class-validator';

export class PushManifestRequestDto {
  @IsObject() contents!: Record<string, unknown>;
}
