import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, FindOptionsWhere, LessThan, Raw } from 'typeorm';
import { CacheInvalidationService } from '../auth/cache-invalidation.service';
import { Actor } from '../audit/actor';
import { AuditService } from '../audit/audit.service';
import { AppException } from '../common/app.exception';
import { newId } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { Transactions } from '../database/transactions';
import { dialectOf } from '../database/dialect';
import { Plan } from '../plans/plan.entity';
import { Consumer } from './consumer.entity';
import { ConsumerDto } from './dto/consumer.dto';
import { CreateConsumerDto, ListConsumersQueryDto } from './dto/create-consumer.dto';
import { UpdateConsumerDto } from './dto/update-consumer.dto';

/** Keys per statement when deleting their refusal counts. */
const KEYS_CHUNK = 1000;

export function toConsumerDto(c: Consumer): ConsumerDto {
  return {
    id: c.id,
    name: c.name,
    externalId: c.externalId,
    metadata: c.metadata,
    status: c.status,
    planId: c.planId,
    billingAnchorDay: c.billingAnchorDay,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

@Injectable()
export class ConsumersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tx: Transactions,
    private readonly audit: AuditService,
    private readonly invalidate: CacheInvalidationService,
  ) {}

  async create(actor: Actor, dto: CreateConsumerDto): Promise<ConsumerDto> {
    return this.tx.run(async (m) => {
      await this.checkRefs(m, dto);
      const now = new Date();
      const consumer = m.create(Consumer, {
        id: newId('cons', now.getTime()),
        name: dto.name,
        externalId: dto.externalId ?? null,
        metadata: dto.metadata ?? {},
        status: 'active',
        planId: dto.planId ?? null,
        billingAnchorDay: dto.billingAnchorDay ?? 1,
        createdAt: now,
        updatedAt: now,
      });
      await m.insert(Consumer, consumer);
      const out = toConsumerDto(consumer);
      await this.audit.record(m, actor, { action: 'consumer.create', targetType: 'consumer', targetId: consumer.id, after: { ...out } });
      return out;
    });
  }

  async list(query: ListConsumersQueryDto): Promise<Page<ConsumerDto>> {
    const limit = query.limit ?? 20;
    const where: FindOptionsWhere<Consumer> = {};
    if (query.status) where.status = query.status;
    if (query.planId) where.planId = query.planId;
    if (query.externalId) where.externalId = query.externalId;
    // LOWER on both sides: the same answer whatever the column's collation on MariaDB; `!` escapes the
    // wildcards in what was typed (a backslash would itself need escaping in MariaDB string literals).
    if (query.name) where.name = Raw((column) => `LOWER(${column}) LIKE LOWER(:name) ESCAPE '!'`, { name: `%${query.name.replace(/[!%_]/g, '!$&')}%` });
    const cursor = decodeCursor(query.cursor);
    if (cursor) where.id = LessThan(cursor);
    const rows = await this.dataSource.getRepository(Consumer).find({ where, order: { id: 'DESC' }, take: limit + 1 });
    return toPage(rows, limit, toConsumerDto);
  }

  async get(id: string): Promise<ConsumerDto> {
    return toConsumerDto(await this.find(this.dataSource.manager, id));
  }

  async update(actor: Actor, id: string, dto: UpdateConsumerDto): Promise<ConsumerDto> {
    const out = await this.tx.run(async (m) => {
      const consumer = await this.find(m, id, true);
      await this.checkRefs(m, dto, id);
      const before = toConsumerDto(consumer);
      if (dto.name !== undefined) consumer.name = dto.name;
      if (dto.externalId !== undefined) consumer.externalId = dto.externalId;
      if (dto.metadata !== undefined) consumer.metadata = dto.metadata;
      if (dto.planId !== undefined) consumer.planId = dto.planId;
      if (dto.billingAnchorDay !== undefined) consumer.billingAnchorDay = dto.billingAnchorDay;
      consumer.updatedAt = new Date();
      await m.save(Consumer, consumer);
      const after = toConsumerDto(consumer);
      await this.audit.record(m, actor, { action: 'consumer.update', targetType: 'consumer', targetId: id, before: { ...before }, after: { ...after } });
      return after;
    });
    this.invalidate.consumer(id);
    return out;
  }

  async setStatus(actor: Actor, id: string, status: 'active' | 'suspended'): Promise<ConsumerDto> {
    const out = await this.tx.run(async (m) => {
      const consumer = await this.find(m, id, true);
      if (consumer.status === status) return toConsumerDto(consumer);
      const before = toConsumerDto(consumer);
      consumer.status = status;
      consumer.updatedAt = new Date();
      await m.save(Consumer, consumer);
      const after = toConsumerDto(consumer);
      await this.audit.record(m, actor, {
        action: status === 'suspended' ? 'consumer.suspend' : 'consumer.resume',
        targetType: 'consumer',
        targetId: id,
        before: { status: before.status },
        after: { status: after.status },
      });
      return after;
    });
    this.invalidate.consumer(id);
    return out;
  }

  /**
   * Deletes a consumer and its keys. Financial history is never orphaned: a consumer with usage or a
   * closed billing period cannot be deleted (suspend it instead); open periods without usage go with it.
   * Counts still buffered by any instance are dropped by the flush once the consumer is gone (see
   * writeUsageBatch), so no usage row outlives its consumer. The keys' refusal counts (key_outcomes) go
   * with the keys, and the outcomes flush drops those of keys that no longer exist.
   */
  async remove(actor: Actor, id: string): Promise<void> {
    await this.tx.run(async (m) => {
      const consumer = await this.find(m, id, true);
      const [usage] = await m.query('SELECT 1 AS x FROM usage_rollups WHERE consumer_id = ? LIMIT 1', [id]);
      const [closed] = await m.query("SELECT 1 AS x FROM billing_periods WHERE consumer_id = ? AND status = 'closed' LIMIT 1", [id]);
      if (usage || closed) {
        throw AppException.conflict('This consumer has usage or billing history and cannot be deleted; suspend it instead');
      }
      const keys: { id: string }[] = await m.query('SELECT id FROM api_keys WHERE consumer_id = ?', [id]);
      // The keys first: an outcomes flush reads them under a shared lock before writing their counts, so
      // deleting the counts after the keys are locked finds everything a flush has written.
      await m.query('DELETE FROM api_keys WHERE consumer_id = ?', [id]);
      for (let i = 0; i < keys.length; i += KEYS_CHUNK) {
        const chunk = keys.slice(i, i + KEYS_CHUNK).map((k) => k.id);
        await m.query(`DELETE FROM key_outcomes WHERE key_id IN (${chunk.map(() => '?').join(', ')})`, chunk);
      }
      await m.query('DELETE FROM billing_periods WHERE consumer_id = ?', [id]);
      await m.delete(Consumer, { id });
      await this.audit.record(m, actor, {
        action: 'consumer.delete',
        targetType: 'consumer',
        targetId: id,
        before: { ...toConsumerDto(consumer), keyIds: keys.map((k) => k.id) },
      });
    });
    this.invalidate.consumer(id);
  }

  async find(m: EntityManager, id: string, forUpdate = false): Promise<Consumer> {
    const qb = m.getRepository(Consumer).createQueryBuilder('c').where('c.id = :id', { id });
    if (forUpdate) dialectOf(m).lockForUpdate(qb);
    const consumer = await qb.getOne();
    if (!consumer) throw AppException.notFound('Consumer');
    return consumer;
  }

  private async checkRefs(m: EntityManager, dto: { planId?: string | null; externalId?: string | null }, selfId?: string): Promise<void> {
    if (dto.planId && !(await m.existsBy(Plan, { id: dto.planId }))) {
      throw AppException.validation([{ field: 'planId', message: 'no plan has this id' }]);
    }
    if (dto.externalId) {
      const other = await m.findOneBy(Consumer, { externalId: dto.externalId });
      if (other && other.id !== selfId) throw AppException.conflict('Another consumer has this externalId');
    }
  }
}
