import { ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
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

export function flatten(errors: ValidationError[], parent = ''): FieldError[] {
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

const INDEXED = Symbol.for('tollgate.validationMetadataIndex');

/**
 * class-validator looks up a class's rules on every validation by scanning every class that has rules
 * (an `instanceof` test each, for inherited rules) and regrouping them by property: about half of what
 * validating a small body costs. The rules are fixed once the DTO classes are loaded, so the lookups are
 * remembered per class; registering a rule later (a class loaded late) forgets them. Idempotent.
 */
export function indexValidationMetadata(): void {
  const storage = getMetadataStorage() as ReturnType<typeof getMetadataStorage> & { [INDEXED]?: true };
  if (storage[INDEXED]) return;
  storage[INDEXED] = true;
  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  const group = storage.groupByPropertyName.bind(storage);
  let byClass = new Map<unknown, Map<string, ValidationMetadata[]>>();
  let grouped = new WeakMap<ValidationMetadata[], ReturnType<typeof group>>();
  const forget = () => {
    byClass = new Map();
    grouped = new WeakMap();
  };
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, groups) => {
    const variant = `${schema}|${always}|${strictGroups}|${groups?.join(',') ?? ''}`;
    let variants = byClass.get(target);
    if (!variants) byClass.set(target, (variants = new Map()));
    let found = variants.get(variant);
    if (!found) variants.set(variant, (found = lookup(target, schema, always, strictGroups, groups)));
    return found;
  };
  storage.groupByPropertyName = (metadata) => {
    let found = grouped.get(metadata);
    if (!found) grouped.set(metadata, (found = group(metadata)));
    return found;
  };
  for (const name of ['addValidationMetadata', 'addConstraintMetadata'] as const) {
    const add = storage[name].bind(storage) as (metadata: never) => void;
    storage[name] = ((metadata: never) => {
      forget();
      add(metadata);
    }) as never;
  }
}

/** Whitelisting, unknown fields rejected, and failures in the error shape with one detail per field. */
export function createValidationPipe(): ValidationPipe {
  indexValidationMetadata();
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => AppException.validation(flatten(errors)),
  });
}
