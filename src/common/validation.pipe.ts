import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppException, FieldError } from './app.exception';

/**
 * Constraints that say what type a field must be. When one of them fails, the others (length, range,
 * format) are about a value of that type and only add noise: "must be a string" is the whole answer.
 */
const TYPE_CONSTRAINTS = ['isString', 'isInt', 'isNumber', 'isBoolean', 'isArray', 'isObject', 'isDateString', 'isISO8601', 'isDate'];

function messagesOf(constraints: Record<string, string> | undefined): string[] {
  if (!constraints) return [];
  const typeErrors = TYPE_CONSTRAINTS.filter((name) => name in constraints);
  return typeErrors.length ? typeErrors.map((name) => constraints[name]) : Object.values(constraints);
}

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? (/^\d+$/.test(e.property) ? `${parent}[${e.property}]` : `${parent}.${e.property}`) : e.property;
    for (const message of messagesOf(e.constraints)) {
      out.push({ field, message: message.replace(/^property \S+ should not exist$/, 'is not a known field') });
    }
    if (e.children?.length) out.push(...flatten(e.children, field));
  }
  return out;
}

/** Whitelisting, unknown fields rejected, and failures in the error shape with one detail per field. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => AppException.validation(flatten(errors)),
  });
}
