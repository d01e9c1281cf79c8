import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, LessThan } from 'typeorm';
import type { QuotaRule, RateLimitRule } from '../auth/auth-key';
import { CacheInvalidationService } from '../auth/cache-invalidation.service';
import { Actor } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { validatePrices } from '../billing/pricing';
import type { Price } from '../billing/pricing/pricing.types';
import { AppException, FieldError } from '../common/app.exception';
import { newId } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { dialectOf } from '../database/dialect';
import { Transactions } from '../database/transactions';
import { CreatePlanDto, ListPlansQueryDto } from './dto/create-plan.dto';
import { PlanDto } from './dto/plan.dto';
import { UpdatePlanDto } from './dto/update-plan.dto';
import { Plan } from './plan.entity';

export function toPlanDto(p: Plan): PlanDto {
  return {
    id: p.id,
    name: p.name,
    currency: p.currency,
    baseFeeMinor: p.baseFeeMinor,
    rateLimits: p.rateLimits ?? [],
    quotas: p.quotas ?? [],
    prices: (p.prices ?? []) as PlanDto['prices'],
    metadata: p.metadata ?? {},
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

/** Plain JSON of the DTO's nested values: class instances from the validation pipe, undefined fields dropped. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** What class-validator cannot say about one field alone: prices as a whole, and names that repeat. */
export function planProblems(plan: { currency: string; prices: unknown; rateLimits: RateLimitRule[]; quotas: QuotaRule[] }): FieldError[] {
  // The currency was checked by the DTO; validatePrices repeats that check, so keep only its price errors.
  const errors = validatePrices(plan.prices, plan.currency).filter((e) => e.field !== 'currency');
  const seenLimits = new Map<string, number>();
  plan.rateLimits.forEach((r, i) => {
    const first = seenLimits.get(r.name);
    if (first !== undefined) errors.push({ field: `rateLimits[${i}].name`, message: `duplicate name "${r.name}" (also rateLimits[${first}])` });
    else seenLimits.set(r.name, i);
  });
  const seenQuotas = new Map<string, number>();
  plan.quotas.forEach((q, i) => {
    const first = seenQuotas.get(q.metric);
    if (first !== undefined) errors.push({ field: `quotas[${i}].metric`, message: `duplicate metric "${q.metric}" (also quotas[${first}])` });
    else seenQuotas.set(q.metric, i);
  });
  return errors;
}

@Injectable()
export class PlansService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly audit: AuditService,
    private readonly invalidate: CacheInvalidationService,
  ) {}

  async create(actor: Actor, dto: CreatePlanDto): Promise<PlanDto> {
    const now = new Date();
    const plan = Object.assign(new Plan(), {
      id: newId('plan', now.getTime()),
      name: dto.name,
      currency: dto.currency,
      baseFeeMinor: dto.baseFeeMinor ?? 0,
      rateLimits: plain(dto.rateLimits ?? []),
      quotas: plain(dto.quotas ?? []),
      prices: plain(dto.prices ?? []) as Price[],
      metadata: dto.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    });
    this.check(plan);
    const out = await this.tx.run(async (m) => {
      await m.insert(Plan, plan);
      const created = toPlanDto(plan);
      await this.audit.record(m, actor, { action: 'plan.create', targetType: 'plan', targetId: plan.id, after: { ...created } });
      return created;
    });
    this.invalidate.all();
    return out;
  }

  async list(query: ListPlansQueryDto): Promise<Page<PlanDto>> {
    const limit = query.limit ?? 20;
    const where: FindOptionsWhere<Plan> = {};
    if (query.currency) where.currency = query.currency;
    const cursor = decodeCursor(query.cursor);
    if (cursor) where.id = LessThan(cursor);
    const rows = await this.dataSource.getRepository(Plan).find({ where, order: { id: 'DESC' }, take: limit + 1 });
    return toPage(rows, limit, toPlanDto);
  }

  async get(id: string): Promise<PlanDto> {
    return toPlanDto(await this.find(this.dataSource.manager, id));
  }

  /**
   * Rate limits and quotas apply at once (every key's cached plan is dropped); prices, base fee and
   * currency reach a consumer when its next billing period opens with a new snapshot.
   */
  async update(actor: Actor, id: string, dto: UpdatePlanDto): Promise<PlanDto> {
    const out = await this.tx.run(async (m) => {
      const plan = await this.find(m, id, true);
      const before = toPlanDto(plan);
      if (dto.name !== undefined) plan.name = dto.name;
      if (dto.currency !== undefined) plan.currency = dto.currency;
      if (dto.baseFeeMinor !== undefined) plan.baseFeeMinor = dto.baseFeeMinor;
      if (dto.rateLimits !== undefined) plan.rateLimits = plain(dto.rateLimits);
      if (dto.quotas !== undefined) plan.quotas = plain(dto.quotas);
      if (dto.prices !== undefined) plan.prices = plain(dto.prices) as Price[];
      if (dto.metadata !== undefined) plan.metadata = dto.metadata;
      this.check(plan);
      plan.updatedAt = new Date();
      await m.save(Plan, plan);
      const after = toPlanDto(plan);
      await this.audit.record(m, actor, { action: 'plan.update', targetType: 'plan', targetId: id, before: { ...before }, after: { ...after } });
      return after;
    });
    this.invalidate.all();
    return out;
  }

  /** Refused while a consumer is on the plan; billing periods keep their own snapshot of it. */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.tx.run(async (m) => {
      const plan = await this.find(m, id, true);
      const [used] = await m.query('SELECT id FROM consumers WHERE plan_id = ? LIMIT 1', [id]);
      if (used) throw AppException.conflict('Consumers are on this plan; move them to another plan first');
      await m.delete(Plan, { id });
      await this.audit.record(m, actor, { action: 'plan.delete', targetType: 'plan', targetId: id, before: { ...toPlanDto(plan) } });
    });
    this.invalidate.all();
  }

  private check(plan: Plan): void {
    const problems = planProblems(plan);
    if (problems.length) throw AppException.validation(problems);
  }

  private async find(m: EntityManager, id: string, forUpdate = false): Promise<Plan> {
    const qb = m.getRepository(Plan).createQueryBuilder('p').where('p.id = :id', { id });
    if (forUpdate) dialectOf(m).lockForUpdate(qb);
    const plan = await qb.getOne();
    if (!plan) throw AppException.notFound('Plan');
    return plan;
  }
}
