import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { RedisService } from '../redis/redis.service';
import { KeyCache } from './key-cache';

type Message = { t: 'key' | 'consumer' | 'all'; id?: string; from: string };

/**
 * Invalidates the key cache here at once and, with Redis, on every other instance through pub/sub.
 * A lost message is bounded by the cache TTL.
 */
@Injectable()
export class CacheInvalidationService implements OnModuleInit {
  private readonly logger = new Logger(CacheInvalidationService.name);
  private readonly instanceId = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  private readonly channel: string;

  constructor(
    private readonly cache: KeyCache,
    private readonly redis: RedisService,
  ) {
    this.channel = `${redis.prefix}invalidate`;
  }

  onModuleInit(): void {
    const sub = this.redis.subscriber;
    if (!sub) return;
    sub.subscribe(this.channel).catch((err: Error) => this.logger.warn(`subscribe failed: ${err.message}`));
    sub.on('message', (channel: string, raw: string) => {
      if (channel !== this.channel) return;
      try {
        const msg = JSON.parse(raw) as Message;
        if (msg.from !== this.instanceId) this.apply(msg);
      } catch {
        this.logger.warn('ignored a malformed invalidation message');
      }
    });
    // Messages sent while we were disconnected are lost: start clean after a reconnect.
    sub.on('ready', () => this.cache.clear());
  }

  key(id: string): void {
    this.send({ t: 'key', id, from: this.instanceId });
  }

  consumer(id: string): void {
    this.send({ t: 'consumer', id, from: this.instanceId });
  }

  all(): void {
    this.send({ t: 'all', from: this.instanceId });
  }

  private send(msg: Message): void {
    this.apply(msg);
    this.redis.client?.publish(this.channel, JSON.stringify(msg)).catch((err: Error) => {
      this.logger.warn(`invalidation not published (other instances rely on the cache TTL): ${err.message}`);
    });
  }

  private apply(msg: Message): void {
    if (msg.t === 'key' && msg.id) this.cache.invalidateKey(msg.id);
    else if (msg.t === 'consumer' && msg.id) this.cache.invalidateConsumer(msg.id);
    else this.cache.clear();
  }
}
