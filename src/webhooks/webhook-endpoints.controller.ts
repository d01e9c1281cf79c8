import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiExtraModels, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AdminOnly, RequireScopes } from '../auth/decorators';
import { Actor, CurrentActor } from '../audit/actor';
import { ApiErrorResponse } from '../common/error-response.dto';
import { Page, PageOf } from '../common/pagination';
import { CreateWebhookEndpointDto } from './dto/create-webhook-endpoint.dto';
import { UpdateWebhookEndpointDto } from './dto/update-webhook-endpoint.dto';
import { ListWebhookDeliveriesQueryDto, WebhookDeliveryDto } from './dto/webhook-delivery.dto';
import { CreatedWebhookEndpointDto, ListWebhookEndpointsQueryDto, WebhookEndpointDto } from './dto/webhook-endpoint.dto';
import { EVENT_SCHEMAS } from './dto/webhook-event.dto';
import { WebhookEndpointsService } from './webhook-endpoints.service';

const EndpointPageDto = PageOf(WebhookEndpointDto);
const DeliveryPageDto = PageOf(WebhookDeliveryDto);

@ApiTags('Webhooks')
@AdminOnly()
@ApiExtraModels(...EVENT_SCHEMAS)
@ApiErrorResponse(400, 'VALIDATION_FAILED')
@Controller('admin/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  @Post()
  @RequireScopes('webhooks:write')
  @ApiOperation({
    operationId: 'createWebhookEndpoint',
    summary: 'Subscribe an endpoint to events',
    description:
      'The URL must be https:// and must not resolve to a private, loopback or link-local address (unless the server runs with WEBHOOK_ALLOW_PRIVATE_TARGETS=true). The signing secret is returned only in this answer.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookEndpointDto })
  create(@CurrentActor() actor: Actor, @Body() dto: CreateWebhookEndpointDto): Promise<CreatedWebhookEndpointDto> {
    return this.endpoints.create(actor, dto);
  }

  @Get()
  @RequireScopes('webhooks:read')
  @ApiOperation({ operationId: 'listWebhookEndpoints', summary: 'List webhook endpoints, newest first' })
  @ApiOkResponse({ type: EndpointPageDto })
  list(@Query() query: ListWebhookEndpointsQueryDto): Promise<Page<WebhookEndpointDto>> {
    return this.endpoints.list(query);
  }

  @Get(':id')
  @RequireScopes('webhooks:read')
  @ApiOperation({ operationId: 'getWebhookEndpoint', summary: 'Get a webhook endpoint' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  get(@Param('id') id: string): Promise<WebhookEndpointDto> {
    return this.endpoints.get(id);
  }

  @Patch(':id')
  @RequireScopes('webhooks:write')
  @ApiOperation({
    operationId: 'updateWebhookEndpoint',
    summary: 'Change a webhook endpoint',
    description: 'Disabling cancels its pending deliveries; enabling clears its failure record.',
  })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdateWebhookEndpointDto): Promise<WebhookEndpointDto> {
    return this.endpoints.update(actor, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('webhooks:write')
  @ApiOperation({ operationId: 'deleteWebhookEndpoint', summary: 'Delete a webhook endpoint and its delivery log' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<void> {
    await this.endpoints.remove(actor, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @RequireScopes('webhooks:write')
  @ApiOperation({
    operationId: 'rotateWebhookEndpointSecret',
    summary: 'Replace the signing secret',
    description:
      'The new secret is returned only in this answer. For 24 hours deliveries carry two signatures (new and previous secret) in `webhook-signature`, so receivers can switch without rejecting anything.',
  })
  @ApiOkResponse({ type: CreatedWebhookEndpointDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  rotateSecret(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<CreatedWebhookEndpointDto> {
    return this.endpoints.rotateSecret(actor, id);
  }

  @Post(':id/test')
  @HttpCode(200)
  @RequireScopes('webhooks:write')
  @ApiOperation({ operationId: 'testWebhookEndpoint', summary: 'Send a webhook.test event to this endpoint', description: 'Answers with the queued delivery; follow it with getWebhookDelivery.' })
  @ApiOkResponse({ type: WebhookDeliveryDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: the endpoint is disabled')
  test(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<WebhookDeliveryDto> {
    return this.endpoints.test(actor, id);
  }

  @Get(':id/deliveries')
  @RequireScopes('webhooks:read')
  @ApiOperation({ operationId: 'listWebhookDeliveries', summary: "An endpoint's deliveries, newest first, with every attempt" })
  @ApiOkResponse({ type: DeliveryPageDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  listDeliveries(@CurrentActor() actor: Actor, @Param('id') id: string, @Query() query: ListWebhookDeliveriesQueryDto): Promise<Page<WebhookDeliveryDto>> {
    return this.endpoints.listDeliveries(actor, id, query);
  }

  @Get(':id/deliveries/:deliveryId')
  @RequireScopes('webhooks:read')
  @ApiOperation({ operationId: 'getWebhookDelivery', summary: 'Get a delivery with every attempt' })
  @ApiOkResponse({ type: WebhookDeliveryDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  getDelivery(@CurrentActor() actor: Actor, @Param('id') endpointId: string, @Param('deliveryId') id: string): Promise<WebhookDeliveryDto> {
    return this.endpoints.getDelivery(actor, id, endpointId);
  }

  @Post(':id/deliveries/:deliveryId/retry')
  @HttpCode(200)
  @RequireScopes('webhooks:write')
  @ApiOperation({
    operationId: 'retryWebhookDelivery',
    summary: 'Attempt a delivery again now',
    description: 'Works in any state (a failed delivery gets one more attempt). Refused while the delivery is being attempted or its endpoint is disabled.',
  })
  @ApiOkResponse({ type: WebhookDeliveryDto })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: being attempted now, or the endpoint is disabled')
  retry(@CurrentActor() actor: Actor, @Param('id') endpointId: string, @Param('deliveryId') id: string): Promise<WebhookDeliveryDto> {
    return this.endpoints.retry(actor, endpointId, id);
  }
}
