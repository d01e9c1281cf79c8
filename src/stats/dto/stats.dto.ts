import { ApiDateTime, ApiInt } from '../../common/api-schema';
export class ConsumerCountsDto {
  /** @example 120 */
  @ApiInt()
  total: number;
  /** @example 117 */
  @ApiInt()
  active: number;
  /** @example 3 */
  @ApiInt()
  suspended: number;
}

export class KeyStatusCountsDto {
  /** Neither revoked nor expired. @example 240 */
  @ApiInt()
  active: number;
  /** @example 31 */
  @ApiInt()
  revoked: number;
  /** Past expiresAt (including rotated keys past their grace period), not revoked. @example 12 */
  @ApiInt()
  expired: number;
}

export class KeysByKindDto {
  admin: KeyStatusCountsDto;
  secret: KeyStatusCountsDto;
  publishable: KeyStatusCountsDto;
}

export class KeyCountsDto extends KeyStatusCountsDto {
  /** @example 283 */
  @ApiInt()
  total: number;
  byKind: KeysByKindDto;
}

export class RequestCountsDto {
  /** Metered requests (metric `requests`) in the last 1440 minute buckets, live and test keys together. @example 1843200 */
  @ApiInt()
  total: number;
  /** @example 1800000 */
  @ApiInt()
  live: number;
  /** @example 43200 */
  @ApiInt()
  test: number;
}

export class TopConsumerDto {
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** @example "Acme Corp" */
  name: string | null;
  /** @example "acct_4421" */
  externalId: string | null;
  /** Metered requests today and yesterday (UTC). @example 912000 */
  @ApiInt()
  requests: number;
}

export class KeySummaryDto {
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "secret" */
  kind: 'admin' | 'secret' | 'publishable';
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string | null;
  /** @example "production backend" */
  name: string;
  /** @example "tg_live_3xK9" */
  start: string;
  /** @example "2026-11-29T10:00:00.000Z" */
  @ApiDateTime()
  expiresAt: string | null;
  /** @example null */
  @ApiDateTime()
  lastUsedAt: string | null;
  /** @example "2026-08-01T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
}

export class KeyListSummaryDto {
  /** How many keys match (the list holds at most the first 100). @example 2 */
  @ApiInt()
  count: number;
  keys: KeySummaryDto[];
}

/** An operator's overview of the installation. */
/** A webhook endpoint whose deliveries fail, or that was disabled for failing. */
export class FailingWebhookEndpointDto {
  /** @example "whe_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "https://hooks.example.com/tollgate" */
  url: string;
  /** @example true */
  enabled: boolean;
  /** Since when every attempt has failed. @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  failingSince: string | null;
}

export class StatsDto {
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  generatedAt: string;
  consumers: ConsumerCountsDto;
  keys: KeyCountsDto;
  /** Requests metered in the last 24 hours. */
  requestsLast24h: RequestCountsDto;
  /**
   * The 10 consumers with the most metered requests today and yesterday (UTC days: per-consumer counts are
   * kept per day), most first.
   */
  topConsumers: TopConsumerDto[];
  /** Active keys whose expiresAt falls within the next 7 days, soonest first. */
  keysExpiringSoon: KeyListSummaryDto;
  /** Active keys not used for 90 days (or never used and created more than 90 days ago), least recently used first. */
  keysUnused: KeyListSummaryDto;
  /** Webhook endpoints failing now, or disabled after failing for 3 days (100 at most, longest failing first). */
  webhookEndpointsFailing: FailingWebhookEndpointDto[];
}
