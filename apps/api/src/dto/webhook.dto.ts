import { ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';

/**
 * A webhook subscription (reference §3.4). Fields are checked by the domain (known event types,
 * levels, URL rules) so every problem is answered 422 `{id, message}` in one wording; here they
 * are only declared, so the body's other fields are dropped. On PATCH every field is optional;
 * `authorization: null` stops sending the header.
 */
export class WebhookRequestDto {
  @ApiPropertyOptional({ type: [String], example: ['api:addon-attachment', 'api:app', 'api:addon'] }) @Allow() include?: unknown;
  @ApiPropertyOptional({ enum: ['notify', 'sync'] }) @Allow() level?: unknown;
  @ApiPropertyOptional({ example: 'https://vendor.example.com/heroku/webhooks' }) @Allow() url?: unknown;
  @ApiPropertyOptional({ nullable: true, description: 'Sent back as the Authorization header of each delivery.' }) @Allow() authorization?: unknown;
  @ApiPropertyOptional({ description: 'HMAC-SHA256 key of the Heroku-Webhook-Hmac-SHA256 signature; generated (and answered once) when omitted.' })
  @Allow()
  secret?: unknown;
}
