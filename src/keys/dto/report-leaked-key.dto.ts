import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { ApiKeyDto } from './api-key.dto';

export class ReportLeakedKeyDto {
  /** The leaked key's plaintext, as found. @example "tg_live_3xK9pQ2mZt9aK3LpQw7RvB8nC1dE5fG7hJ0kL2" */
  @IsString()
  @MinLength(8)
  @MaxLength(200)
  key: string;

  /** Where it was found, for the audit log and the key.leaked event. @example "github-secret-scanning: acme/app#12" */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  source?: string;
}

export class LeakedKeyReportDto {
  /** The key, now revoked. */
  key: ApiKeyDto;
  /** It had been revoked before this report. @example false */
  alreadyRevoked: boolean;
  /** @example "github-secret-scanning: acme/app#12" */
  source: string | null;
}
