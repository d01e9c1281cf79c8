import { registerDecorator, ValidationOptions } from 'class-validator';

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
