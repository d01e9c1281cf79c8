import { isCurrency } from './currency';
import type { FieldError, PriceModel } from './pricing.types';

export const PRICE_MODELS: readonly PriceModel[] = ['per_unit', 'package', 'graduated', 'volume'];
export const METRIC_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;
/** Non-negative, no sign, no exponent: what a finance person types, and what Decimal reads exactly. */
export const DECIMAL_PATTERN = /^\d{1,12}(\.\d{1,12})?$/;

const COMMON_FIELDS = ['metric', 'model', 'includedUnits'];
const MODEL_FIELDS: Record<PriceModel, string[]> = {
  per_unit: ['unitPrice'],
  package: ['packageSize', 'packagePrice'],
  graduated: ['tiers'],
  volume: ['tiers'],
};
const TIER_FIELDS = ['upTo', 'unitPrice', 'flatFee'];
const DECIMAL_MESSAGE = 'must be a non-negative decimal string such as "0.0004" (at most 12 digits on each side)';

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keys whose value is not undefined: DTO instances carry undefined for fields the client left out. */
function presentKeys(value: Obj): string[] {
  return Object.keys(value).filter((k) => value[k] !== undefined);
}

function isModel(value: unknown): value is PriceModel {
  return typeof value === 'string' && (PRICE_MODELS as readonly string[]).includes(value);
}

function isDecimal(value: unknown): boolean {
  return typeof value === 'string' && DECIMAL_PATTERN.test(value);
}

function isInteger(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

function modelsWith(field: string): PriceModel[] {
  return PRICE_MODELS.filter((m) => MODEL_FIELDS[m].includes(field));
}

function validateTier(tier: unknown, path: string, last: boolean, previous: number, errors: FieldError[]): number {
  if (!isObject(tier)) {
    errors.push({ field: path, message: 'must be an object' });
    return previous;
  }
  for (const key of presentKeys(tier)) {
    if (!TIER_FIELDS.includes(key)) errors.push({ field: `${path}.${key}`, message: 'is not a tier field' });
  }
  if (!isDecimal(tier.unitPrice)) errors.push({ field: `${path}.unitPrice`, message: DECIMAL_MESSAGE });
  if (tier.flatFee !== undefined && !isDecimal(tier.flatFee)) {
    errors.push({ field: `${path}.flatFee`, message: DECIMAL_MESSAGE });
  }

  const upTo = tier.upTo;
  const field = `${path}.upTo`;
  if (last) {
    if (upTo !== null) errors.push({ field, message: 'must be null on the last tier (it has no upper bound)' });
    return previous;
  }
  if (upTo === null) {
    errors.push({ field, message: 'only the last tier may have upTo null' });
  } else if (!isInteger(upTo, 1)) {
    errors.push({ field, message: 'must be a positive integer (inclusive upper bound of the tier)' });
  } else if (upTo <= previous) {
    errors.push({ field, message: `must be greater than the previous tier's upTo (${previous})` });
  } else {
    return upTo;
  }
  return previous;
}

function validateTiers(tiers: unknown, path: string, errors: FieldError[]): void {
  if (!Array.isArray(tiers) || tiers.length === 0) {
    errors.push({ field: path, message: 'must be a non-empty array of tiers' });
    return;
  }
  let previous = 0;
  tiers.forEach((tier, j) => {
    previous = validateTier(tier, `${path}[${j}]`, j === tiers.length - 1, previous, errors);
  });
}

function validateModelField(value: unknown, field: string, path: string, errors: FieldError[]): void {
  if (field === 'tiers') validateTiers(value, path, errors);
  else if (field === 'packageSize') {
    if (!isInteger(value, 1)) errors.push({ field: path, message: 'must be an integer ≥ 1' });
  } else if (!isDecimal(value)) errors.push({ field: path, message: DECIMAL_MESSAGE });
}

function validatePrice(price: unknown, path: string, seen: Map<string, string>, errors: FieldError[]): void {
  if (!isObject(price)) {
    errors.push({ field: path, message: 'must be an object' });
    return;
  }
  const metric = price.metric;
  if (typeof metric !== 'string' || !METRIC_PATTERN.test(metric)) {
    errors.push({
      field: `${path}.metric`,
      message: 'must be 1–64 characters of a-z, 0-9, _, . or -, starting with a letter',
    });
  } else if (seen.has(metric)) {
    errors.push({ field: `${path}.metric`, message: `duplicate metric "${metric}" (also ${seen.get(metric)})` });
  } else {
    seen.set(metric, path);
  }
  if (price.includedUnits !== undefined && !isInteger(price.includedUnits, 0)) {
    errors.push({ field: `${path}.includedUnits`, message: 'must be an integer ≥ 0' });
  }

  const model = price.model;
  if (!isModel(model)) {
    errors.push({ field: `${path}.model`, message: `must be one of ${PRICE_MODELS.join(', ')}` });
    return;
  }
  const own = MODEL_FIELDS[model];
  for (const key of presentKeys(price)) {
    if (COMMON_FIELDS.includes(key) || own.includes(key)) continue;
    const owners = modelsWith(key);
    const message =
      owners.length > 0 ? `is not used by model ${model} (only by ${owners.join(', ')})` : 'is not a price field';
    errors.push({ field: `${path}.${key}`, message });
  }
  for (const field of own) {
    const fieldPath = `${path}.${field}`;
    if (price[field] === undefined) errors.push({ field: fieldPath, message: `is required for model ${model}` });
    else validateModelField(price[field], field, fieldPath, errors);
  }
}

/**
 * Problems with a plan's prices as `{field, message}` (field paths like `prices[0].tiers[1].upTo`), for a
 * VALIDATION_FAILED answer; [] when the prices can be priced. Anything `priceLine` would refuse is caught
 * here, so that a saved plan never fails at period close.
 */
export function validatePrices(prices: unknown, currency: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!isCurrency(currency)) {
    errors.push({ field: 'currency', message: 'must be an active ISO 4217 currency code, such as USD' });
  }
  if (!Array.isArray(prices)) {
    errors.push({ field: 'prices', message: 'must be an array' });
    return errors;
  }
  const seen = new Map<string, string>();
  prices.forEach((price, i) => validatePrice(price, `prices[${i}]`, seen, errors));
  return errors;
}
