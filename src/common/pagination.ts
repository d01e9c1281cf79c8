import { ApiProperty } from '@nestjs/swagger';
import { Type } from '@nestjs/common';
import { AppException } from './app.exception';

export { PageQueryDto } from './page-query.dto';

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[a-z]{2,8}_[0-9A-Za-z]{10,40}$/.test(id)) {
    throw AppException.validation([{ field: 'cursor', message: 'is not a cursor returned by this API' }]);
  }
  return id;
}

/** Rows were fetched newest first with limit + 1; the extra row only tells that another page exists. */
export function toPage<E extends { id: string }, D>(rows: E[], limit: number, map: (e: E) => D): Page<D> {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { data: page.map(map), nextCursor: more ? encodeCursor(page[page.length - 1].id) : null };
}

/** A concrete `{data, nextCursor}` class for OpenAPI, one per item type. */
export function PageOf<T>(item: Type<T>): Type<Page<T>> {
  class PageDto {
    @ApiProperty({ type: item, isArray: true })
    data: T[];

    @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` to get the next page; null on the last page.' })
    nextCursor: string | null;
  }
  Object.defineProperty(PageDto, 'name', { value: `${item.name.replace(/Dto$/, '')}PageDto` });
  return PageDto;
}
