import { Injectable } from '@nestjs/common';
import { Admission, CONSUMER_KINDS } from '../admission/admission.service';
import type { RequestOrigin } from '../auth/key-verifier.service';
import { REQUESTS_METRIC } from '../usage/usage-recorder.service';
import { VerifyKeyDto, VerifyKeyResponseDto } from './dto/verify.dto';

/**
 * Answers an upstream service's "is this key good for this call?" exactly as a direct call to a consumer
 * route would be answered: the same admission step, so an admin key (the verifying key included) is
 * INSUFFICIENT_PERMISSIONS, as it is on /v1/me.
 */
@Injectable()
export class VerifyService {
  constructor(private readonly admission: Admission) {}

  async verify(dto: VerifyKeyDto, from: RequestOrigin): Promise<VerifyKeyResponseDto> {
    const v = await this.admission.decide(dto.key, from, {
      kinds: CONSUMER_KINDS,
      scopes: dto.scopes ?? [],
      metric: dto.metric ?? REQUESTS_METRIC,
      cost: dto.cost ?? 1,
    });
    const key = v.key;
    return {
      valid: v.code === 'VALID',
      code: v.code,
      keyId: key?.id ?? null,
      consumerId: key?.consumer?.id ?? null,
      kind: key?.kind ?? null,
      environment: key?.environment ?? null,
      scopes: key?.scopes ?? [],
      expiresAt: key?.expiresAt != null ? new Date(key.expiresAt).toISOString() : null,
      rateLimits: v.limits ? this.admission.limitStates(v.limits) : [],
      quota: v.quota?.quota ?? null,
    };
  }
}
