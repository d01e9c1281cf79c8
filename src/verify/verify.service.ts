import { Injectable } from '@nestjs/common';
import type { AuthKey } from '../auth/auth-key';
import { KeyVerifier } from '../auth/key-verifier.service';
import { grants } from '../auth/scopes';
import { ErrorCode } from '../common/error-code';
import { QuotaService, UNLIMITED } from '../rate-limit/quota/quota.service';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { isRefusal } from '../usage/outcomes/key-outcome';
import { KeyOutcomeRecorder } from '../usage/outcomes/key-outcome-recorder.service';
import { REQUESTS_METRIC, UsageRecorder } from '../usage/usage-recorder.service';
import { VerifyKeyDto, VerifyKeyResponseDto } from './dto/verify.dto';

/** Answers an upstream service's "is this key good for this call?" exactly as a direct call would be answered. */
@Injectable()
export class VerifyService {
  constructor(
    private readonly verifier: KeyVerifier,
    private readonly usage: UsageRecorder,
    private readonly rateLimits: RateLimitService,
    private readonly quotas: QuotaService,
    private readonly outcomes: KeyOutcomeRecorder,
  ) {}

  /** A refusal of a known key counts among its outcomes, as a refused direct call would (cost 0 only checks). */
  async verify(dto: VerifyKeyDto, from: { ip: string; origin?: string }): Promise<VerifyKeyResponseDto> {
    const answer = await this.decide(dto, from);
    if (answer.keyId && dto.cost !== 0 && isRefusal(answer.code)) this.outcomes.record(answer.keyId, answer.code);
    return answer;
  }

  private async decide(dto: VerifyKeyDto, from: { ip: string; origin?: string }): Promise<VerifyKeyResponseDto> {
    const outcome = await this.verifier.verify(dto.key, from);
    const key = outcome.key;
    const base: VerifyKeyResponseDto = {
      valid: false,
      code: outcome.ok ? 'VALID' : outcome.code,
      keyId: key?.id ?? null,
      consumerId: key?.consumer?.id ?? null,
      scopes: key?.scopes ?? [],
      expiresAt: key?.expiresAt != null ? new Date(key.expiresAt).toISOString() : null,
      rateLimits: [],
      quota: null,
    };
    if (!outcome.ok) return base;
    if (dto.scopes?.some((s) => !grants(outcome.key.scopes, s))) {
      return { ...base, code: ErrorCode.INSUFFICIENT_PERMISSIONS };
    }

    // As for a direct call: the key's rate limits count one call (whatever the cost, which is in units of
    // `metric`), then the plan's quota on `metric` takes `cost`. Cost 0 only reads both.
    const metric = dto.metric ?? REQUESTS_METRIC;
    const cost = dto.cost ?? 1;
    const counted = cost > 0 ? this.rateLimits.consume(outcome.key) : this.rateLimits.peek(outcome.key);
    const limited = counted instanceof Promise ? await counted : counted;
    const rateLimits = this.rateLimits.states(limited);
    if (!limited.allowed) {
      const quota = await this.quotas.peek(outcome.key, metric);
      return { ...base, code: ErrorCode.RATE_LIMIT_EXCEEDED, rateLimits, quota: quota.quota };
    }
    const quota = !this.quotas.hasQuota(outcome.key, metric)
      ? UNLIMITED
      : cost > 0
        ? await this.quotas.consume(outcome.key, metric, cost)
        : await this.quotas.peek(outcome.key, metric);
    if (!quota.allowed) return { ...base, code: ErrorCode.QUOTA_EXCEEDED, rateLimits, quota: quota.quota };

    this.meter(outcome.key, dto);
    return { ...base, valid: true, rateLimits, quota: quota.quota };
  }

  /** A valid verify meters `cost` (default 1; 0 meters nothing) of `metric` (default requests) for the verified key. */
  private meter(key: AuthKey, dto: VerifyKeyDto): void {
    this.usage.record(key, dto.metric ?? REQUESTS_METRIC, dto.cost ?? 1);
  }
}
