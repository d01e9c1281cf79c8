import { ApiProperty } from '@nestjs/swagger';

/** The calling admin key, as far as it decides what the key may do. */
export class AdminMeDto {
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  id: string;
  @ApiProperty({ enum: ['admin'], example: 'admin' })
  kind: 'admin';
  /** @example "operations console" */
  name: string;
  @ApiProperty({ enum: ['live', 'test'], example: 'live' })
  environment: 'live' | 'test';
  /** What the key may do; `*` and `resource:*` are wildcards. @example ["consumers:read","keys:read","usage:read"] */
  scopes: string[];
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, example: null })
  expiresAt: string | null;
}
