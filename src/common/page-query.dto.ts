import { Type as TransformType } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiInt } from './api-schema';

/** `limit` and `cursor` of every list; list queries extend it. */
export class PageQueryDto {
  /** Page size, 1-100. @example 20 */
  @IsOptional()
  @TransformType(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  @ApiInt()
  limit?: number = 20;

  /** The `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
