import { ApiProperty, ApiPropertyOptions, getSchemaPath } from '@nestjs/swagger';
import type { ReferenceObject, SchemaObject } from '@nestjs/swagger';

/**
 * Property decorators for what the Swagger CLI plugin cannot infer from a TypeScript type. The plugin still
 * supplies `required`, `nullable` (from `| null`), the description and the example from the JSDoc.
 */

/** Every count and amount of this API is whole; TypeScript's `number` would be documented as `number`. */
export const ApiInt = (options: ApiPropertyOptions = {}) => ApiProperty({ type: 'integer', ...options } as ApiPropertyOptions);

/** An ISO-8601 UTC time with milliseconds, as every time in this API. */
export const ApiDateTime = (options: ApiPropertyOptions = {}) => ApiProperty({ format: 'date-time', ...options } as ApiPropertyOptions);

/**
 * `oneOf` branches for a reference that may be `null`, valid OpenAPI 3.0.3: `nullable` beside a `$ref` (or an
 * `allOf` around one) does not admit `null`, because the referenced schema's own `type` still applies. The
 * second branch admits only `null`. Use with `OrNull`: `@ApiProperty({ type: undefined, oneOf: nullableRef(X) }) x: OrNull<X>`.
 */
export function nullableRef(model: Function): (SchemaObject | ReferenceObject)[] {
  return [{ $ref: getSchemaPath(model) }, { type: 'object', nullable: true, enum: [null], description: 'null' }];
}

/**
 * `T | null` spelled through an alias, for properties documented with `nullableRef`: the plugin adds
 * `nullable: true` to a written-out `| null` union, and beside `oneOf` (where `type` is dropped) that
 * `nullable` is invalid.
 */
export type OrNull<T> = T | null;
