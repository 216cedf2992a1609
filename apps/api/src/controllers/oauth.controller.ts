import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { PartnerService } from '@app/domain';
import { TokenRequestDto } from '../dto/partner.dto';

/**
 * Grant exchange for vendors (reference §3.1): form-encoded, JSON or query parameters, as
 * Heroku's example vendor sends them.
 */
@ApiTags('partner')
@Controller('oauth')
export class OAuthController {
  constructor(private readonly partner: PartnerService) {}

  @Post('token')
  @HttpCode(200)
  token(@Body() body: TokenRequestDto, @Query() query: TokenRequestDto) {
    return this.partner.exchange({ ...query, ...body });
  }
}
