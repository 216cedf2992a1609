import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '@app/auth';
import { InvalidInputError } from '@app/common';
import { KafkaOperationsUseCase, kafkaPlanLimits } from '@app/domain';
import { CreateKafkaTopicRequestDto, UpdateKafkaTopicRequestDto } from '../dto/kafka.dto';
import { Developer } from '../http/auth.decorators';
import { toKafkaGroupResponse, toKafkaResponse, toKafkaTopicResponse } from '../mappers/kafka.mapper';
import { account } from './account.controller';

const wholeNumber = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d{1,6}$/.test(value)) throw new InvalidInputError(`${name} must be a whole number.`);
  return Number(value);
};

/** First-party Kafka operations, under the add-on (docs/kafka.md). */
@ApiTags('kafka')
@Controller('addons/:addon/kafka')
export class KafkaController {
  constructor(private readonly kafka: KafkaOperationsUseCase) {}

  @Get()
  @Developer()
  async show(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Query('minutes') minutes?: string) {
    const { target, limits, metrics } = await this.kafka.info(account(principal).id, addon, wholeNumber(minutes, 'minutes'));
    return toKafkaResponse(target, limits, metrics);
  }

  @Get('topics')
  @Developer()
  async topics(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const { topics } = await this.kafka.listTopics(account(principal).id, addon);
    return topics.map(toKafkaTopicResponse);
  }

  @Post('topics')
  @Developer()
  async createTopic(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Body() body: CreateKafkaTopicRequestDto) {
    const { topic } = await this.kafka.createTopic(account(principal).id, addon, {
      name: body.name,
      partitions: body.partitions,
      retentionMs: body.retention_ms,
      compaction: body.compaction,
    });
    return toKafkaTopicResponse(topic);
  }

  @Get('topics/:topic')
  @Developer()
  async topic(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('topic') name: string) {
    return toKafkaTopicResponse((await this.kafka.getTopic(account(principal).id, addon, name)).topic);
  }

  @Patch('topics/:topic')
  @Developer()
  async updateTopic(
    @CurrentPrincipal() principal: Principal,
    @Param('addon') addon: string,
    @Param('topic') name: string,
    @Body() body: UpdateKafkaTopicRequestDto,
  ) {
    const { topic } = await this.kafka.configureTopic(account(principal).id, addon, name, {
      partitions: body.partitions,
      retentionMs: body.retention_ms,
      compaction: body.compaction,
    });
    return toKafkaTopicResponse(topic);
  }

  @Delete('topics/:topic')
  @Developer()
  async deleteTopic(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string, @Param('topic') name: string) {
    return toKafkaTopicResponse((await this.kafka.deleteTopic(account(principal).id, addon, name)).topic);
  }

  @Get('consumer-groups')
  @Developer()
  async groups(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const { groups } = await this.kafka.consumerGroups(account(principal).id, addon);
    return groups.map(toKafkaGroupResponse);
  }

  @Get('credentials')
  @Developer()
  async credentials(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    return (await this.kafka.credentials(account(principal).id, addon)).config;
  }

  @Post('credentials/rotate')
  @HttpCode(200)
  @Developer()
  async rotate(@CurrentPrincipal() principal: Principal, @Param('addon') addon: string) {
    const target = await this.kafka.rotate(account(principal).id, addon);
    return toKafkaResponse(target, kafkaPlanLimits(target.plan));
  }
}
