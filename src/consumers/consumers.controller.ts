import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page, PageOf } from '../common/pagination';
import { ConsumersService } from './consumers.service';
import { ConsumerDto } from './dto/consumer.dto';
import { CreateConsumerDto, ListConsumersQueryDto } from './dto/create-consumer.dto';
import { UpdateConsumerDto } from './dto/update-consumer.dto';

const ConsumerPageDto = PageOf(ConsumerDto);

@ApiTags('Consumers')
@AdminOnly()
@ApiErrorResponse(400, 'VALIDATION_FAILED')
@Controller('admin/consumers')
export class ConsumersController {
  constructor(private readonly consumers: ConsumersService) {}

  @Post()
  @RequireScopes('consumers:write')
  @ApiOperation({ operationId: 'createConsumer', summary: 'Create a consumer' })
  @ApiCreatedResponse({ type: ConsumerDto, description: 'The consumer' })
  @ApiBody({ type: CreateConsumerDto, examples: { consumer: { summary: 'A consumer without a plan', value: { name: 'Acme Corp', externalId: 'acct_4421', metadata: { tier: 'gold' } } } } })
  @ApiErrorResponse(409, 'CONFLICT: externalId already used')
  create(@CurrentActor() actor: Actor, @Body() dto: CreateConsumerDto): Promise<ConsumerDto> {
    return this.consumers.create(actor, dto);
  }

  @Get()
  @RequireScopes('consumers:read')
  @ApiOperation({ operationId: 'listConsumers', summary: 'List consumers, newest first' })
  @ApiOkResponse({ type: ConsumerPageDto, description: 'One page of consumers, newest first' })
  list(@Query() query: ListConsumersQueryDto): Promise<Page<ConsumerDto>> {
    return this.consumers.list(query);
  }

  @Get(':id')
  @RequireScopes('consumers:read')
  @ApiOperation({ operationId: 'getConsumer', summary: 'Get a consumer' })
  @ApiOkResponse({ type: ConsumerDto, description: 'The consumer' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  get(@Param('id') id: string): Promise<ConsumerDto> {
    return this.consumers.get(id);
  }

  @Patch(':id')
  @RequireScopes('consumers:write')
  @ApiOperation({ operationId: 'updateConsumer', summary: 'Update a consumer', description: 'A plan change applies from the next billing period.' })
  @ApiOkResponse({ type: ConsumerDto, description: 'The consumer as changed' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: externalId already used')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateConsumerDto): Promise<ConsumerDto> {
    return this.consumers.update(actor, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('consumers:write')
  @ApiOperation({
    operationId: 'deleteConsumer',
    summary: 'Delete a consumer and its keys',
    description:
      'Refused with CONFLICT when the consumer has usage or billing history; suspend it instead. Request counts of its keys that an instance has buffered but not yet written (at most about one flush interval of them) are discarded when written: a deleted consumer has no usage rows.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: the consumer has history')
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<void> {
    await this.consumers.remove(actor, id);
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @RequireScopes('consumers:write')
  @ApiOperation({ operationId: 'suspendConsumer', summary: 'Suspend a consumer: all its keys are refused with CONSUMER_SUSPENDED' })
  @ApiOkResponse({ type: ConsumerDto, description: 'The consumer, suspended' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  suspend(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<ConsumerDto> {
    return this.consumers.setStatus(actor, id, 'suspended');
  }

  @Post(':id/resume')
  @HttpCode(200)
  @RequireScopes('consumers:write')
  @ApiOperation({ operationId: 'resumeConsumer', summary: 'Resume a suspended consumer' })
  @ApiOkResponse({ type: ConsumerDto, description: 'The consumer, active' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  resume(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<ConsumerDto> {
    return this.consumers.setStatus(actor, id, 'active');
  }
}
