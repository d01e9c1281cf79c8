import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
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
import { CreatePlanDto, ListPlansQueryDto } from './dto/create-plan.dto';
import { PlanDto } from './dto/plan.dto';
import { UpdatePlanDto } from './dto/update-plan.dto';
import { PlansService } from './plans.service';

const PlanPageDto = PageOf(PlanDto);

@ApiTags('Plans')
@AdminOnly()
@ApiErrorResponse(400, 'VALIDATION_FAILED, with a detail per field (e.g. prices[0].tiers[1].upTo)')
@Controller('admin/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  @Post()
  @RequireScopes('plans:write')
  @ApiOperation({ operationId: 'createPlan', summary: 'Create a plan' })
  @ApiCreatedResponse({ type: PlanDto, description: 'The plan' })
  create(@CurrentActor() actor: Actor, @Body() dto: CreatePlanDto): Promise<PlanDto> {
    return this.plans.create(actor, dto);
  }

  @Get()
  @RequireScopes('plans:read')
  @ApiOperation({ operationId: 'listPlans', summary: 'List plans, newest first' })
  @ApiOkResponse({ type: PlanPageDto, description: 'One page of plans, newest first' })
  list(@Query() query: ListPlansQueryDto): Promise<Page<PlanDto>> {
    return this.plans.list(query);
  }

  @Get(':id')
  @RequireScopes('plans:read')
  @ApiOperation({ operationId: 'getPlan', summary: 'Get a plan' })
  @ApiOkResponse({ type: PlanDto, description: 'The plan' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  get(@Param('id') id: string): Promise<PlanDto> {
    return this.plans.get(id);
  }

  @Patch(':id')
  @RequireScopes('plans:write')
  @ApiOperation({
    operationId: 'updatePlan',
    summary: 'Change a plan',
    description: 'Rate limits and quotas apply at once. Currency, base fee and prices apply from each consumer\'s next billing period: a period keeps the plan it opened with.',
  })
  @ApiOkResponse({ type: PlanDto, description: 'The plan' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  update(@CurrentActor() actor: Actor, @Param('id') id: string, @Body() dto: UpdatePlanDto): Promise<PlanDto> {
    return this.plans.update(actor, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequireScopes('plans:write')
  @ApiOperation({ operationId: 'deletePlan', summary: 'Delete a plan', description: 'Refused with CONFLICT while consumers are on it.' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrorResponse(404, 'NOT_FOUND')
  @ApiErrorResponse(409, 'CONFLICT: consumers are on this plan')
  async remove(@CurrentActor() actor: Actor, @Param('id') id: string): Promise<void> {
    await this.plans.remove(actor, id);
  }
}
