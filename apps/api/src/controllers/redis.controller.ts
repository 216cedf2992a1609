import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { RedisOperationsUseCase } from '@app/domain';
import { UpdateRedisRequestDto } from '../dto/redis.dto';
import { Developer } from '../http/auth.decorators';
import { toRedisResponse } from '../mappers/redis.mapper';
import { account } from './account.controller';

/** First-party Redis operations, under the add-on (DESIGN §4.1). */
@ApiTags('redis')
@Controller('addons/:addon/redis')
export class RedisController {
  constructor(private readonly redis: RedisOperationsUseCase) {}

  @Get()
  @Developer()
  async show(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const { target, info } = await this.redis.info(account(principal).id, addon);
    return toRedisResponse(target, info);
  }

  @Patch()
  @Developer()
  async update(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: UpdateRedisRequestDto) {
    return toRedisResponse(await this.redis.configure(account(principal).id, addon, { maxmemoryPolicy: body.maxmemory_policy, timeoutSeconds: body.timeout }));
  }

  @Get('credentials')
  @Developer()
  async credentials(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const { url } = await this.redis.credentials(account(principal).id, addon);
    return { url };
  }

  @Post('credentials/rotate')
  @HttpCode(200)
  @Developer()
  async rotate(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toRedisResponse(await this.redis.rotate(account(principal).id, addon));
  }

  @Post('failover')
  @HttpCode(200)
  @Developer()
  async failover(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return toRedisResponse(await this.redis.failover(account(principal).id, addon));
  }
}
