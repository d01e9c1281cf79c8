import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';

export class ListKeysQueryDto extends PageQueryDto {
  @IsOptional()
  @IsIn(['live', 'test'])
  environment?: 'live' | 'test';

  /** `active` (usable now), `revoked`, or `expired`. */
  @IsOptional()
  @IsIn(['active', 'revoked', 'expired'])
  status?: 'active' | 'revoked' | 'expired';
}

export class ListAllKeysQueryDto extends ListKeysQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(40)
  consumerId?: string;

  @IsOptional()
  @IsIn(['admin', 'secret', 'publishable'])
  kind?: 'admin' | 'secret' | 'publishable';
}
