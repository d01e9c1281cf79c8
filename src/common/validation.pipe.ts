import { ValidationError, ValidationPipe } from '@nestjs/common';
import { AppException, FieldError } from './app.exception';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const e of errors) {
    const field = parent ? (/^\d+$/.test(e.property) ? `${parent}[${e.property}]` : `${parent}.${e.property}`) : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
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
