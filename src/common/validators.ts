import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { registerDecorator, ValidateIf, ValidationOptions } from 'class-validator';

/** A JSON object (not array, not null) whose serialised size stays within `maxBytes`. */
export function IsJsonObject(maxBytes = 8192, options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isJsonObject',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) =>
          value !== null &&
          typeof value === 'object' &&
          !Array.isArray(value) &&
          Buffer.byteLength(JSON.stringify(value)) <= maxBytes,
        defaultMessage: () => `must be a JSON object of at most ${maxBytes} bytes`,
      },
    });
}

/** An ISO-8601 date-time string with an explicit time zone. */
export const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The field may be left out, but `null` is not one of its values. `IsOptional` skips every rule for `null`
 * as well, which lets `null` through to the service; here the field's own rules judge it (400
 * VALIDATION_FAILED naming the field). For the fields of a PATCH body that `null` does not clear.
 */
export const IsOmittable = (options?: ValidationOptions) => ValidateIf((_object, value) => value !== undefined, options);

/**
 * `null` stands for the field's empty value (`[]`, `{}`), so that a PATCH with `null` clears the field; the
 * service never sees `null`. Documented as nullable. Use with `IsOmittable` and the field's own rules.
 */
export function NullIsEmpty(empty: () => unknown): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => (value === null ? empty() : value)),
    ApiProperty({ nullable: true }),
  );
}
