import { RateLimitRuleDto } from './rate-limit-rule.dto';
import { ApiDateTime } from '../../common/api-schema';

/** An API key as the API shows it: never its hash, and its plaintext only when created or rotated. */
export class ApiKeyDto {
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  /** @example "secret" */
  kind: 'admin' | 'secret' | 'publishable';
  /** Null for admin keys. @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string | null;
  /** @example "production backend" */
  name: string;
  /** @example "live" */
  environment: 'live' | 'test';
  /** The first characters of the key, to recognise it. @example "tg_live_3xK9" */
  start: string;
  /** @example ["usage:read","usage:write"] */
  scopes: string[];
  /** @example null */
  @ApiDateTime()
  expiresAt: string | null;
  /** @example null */
  @ApiDateTime()
  revokedAt: string | null;
  /** Updated within a few seconds of use. @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  lastUsedAt: string | null;
  /** @example [] */
  allowedIps: string[];
  /** @example [] */
  allowedOrigins: string[];
  rateLimits: RateLimitRuleDto[];
  /** @example {} */
  metadata: Record<string, unknown>;
  /** The key this one replaced by rotation. @example null */
  rotatedFromId: string | null;
  /** The key's id in the system it was imported from; null for keys issued here. @example null */
  externalId: string | null;
  /** @example "2026-11-22T10:00:00.000Z" */
  @ApiDateTime()
  createdAt: string;
}

export class CreatedApiKeyDto extends ApiKeyDto {
  /** The plaintext key. Shown once, here; store it now. @example "tg_live_3xK9pQ2mZt9aK3LpQw7RvB8nC1dE5fG7hJ0kL2" */
  key: string;
}
