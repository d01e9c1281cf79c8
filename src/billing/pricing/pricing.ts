import { Decimal } from 'decimal.js';
import { minorUnitExponent } from './currency';
import { DECIMAL_PATTERN } from './validation';
import type {
  InvoiceLine,
  PlanPricing,
  Price,
  PriceModel,
  PricedInvoice,
  Tier,
  TierBreakdown,
} from './pricing.types';

/**
 * A private Decimal constructor, so that no other module's `Decimal.set` can change how money is
 * computed. 64 significant digits hold every product of a 24-digit price and a 16-digit quantity, and
 * their sums, exactly: no arithmetic below ever rounds except the one explicit rounding per line.
 */
const Dec = Decimal.clone({ precision: 64, rounding: Decimal.ROUND_HALF_UP });

interface Priced {
  amount: Decimal;
  unitPrice: string | null;
  tiers?: TierBreakdown[];
}

function decimal(value: string | undefined, what: string): Decimal {
  if (value === undefined || !DECIMAL_PATTERN.test(value)) {
    throw new Error(`invalid price: ${what} must be a decimal string, got ${JSON.stringify(value)}`);
  }
  return new Dec(value);
}

function assertCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${what} must be a non-negative integer, got ${value}`);
  }
}

/** The single rounding of a line: exact major units → integer minor units, half-up. */
function toMinor(amount: Decimal, currency: string): number {
  const minor = amount
    .times(Dec.pow(10, minorUnitExponent(currency)))
    .toDecimalPlaces(0, Decimal.ROUND_HALF_UP)
    .toNumber();
  // Beyond 2^53 a JS number no longer holds every integer, and totals would stop adding up exactly.
  if (!Number.isSafeInteger(minor)) throw new RangeError(`amount ${amount.toFixed()} ${currency} is too large`);
  return minor;
}

function requireTiers(price: Price): Tier[] {
  const tiers = price.tiers;
  if (!tiers || tiers.length === 0) throw new Error(`invalid price: ${price.metric} has no tiers`);
  return tiers;
}

function breakdown(tier: Tier, units: number, amount: Decimal): TierBreakdown {
  return {
    upTo: tier.upTo,
    units,
    unitPrice: tier.unitPrice,
    ...(tier.flatFee === undefined ? {} : { flatFee: tier.flatFee }),
    amount: amount.toFixed(),
  };
}

function tierAmount(tier: Tier, units: number): Decimal {
  const flatFee = tier.flatFee === undefined ? new Dec(0) : decimal(tier.flatFee, 'flatFee');
  return decimal(tier.unitPrice, 'unitPrice').times(units).plus(flatFee);
}

function perUnit(price: Price, billable: number): Priced {
  return { amount: decimal(price.unitPrice, 'unitPrice').times(billable), unitPrice: price.unitPrice! };
}

/** Every started package is charged in full; `unitPrice` on the line is the price of one package. */
function perPackage(price: Price, billable: number): Priced {
  const size = price.packageSize;
  if (size === undefined || !Number.isSafeInteger(size) || size < 1) {
    throw new Error(`invalid price: ${price.metric} packageSize must be a positive integer`);
  }
  // Decimal division, because a float quotient of two large integers can round onto an integer.
  const packages = new Dec(billable).div(size).ceil();
  return { amount: decimal(price.packagePrice, 'packagePrice').times(packages), unitPrice: price.packagePrice! };
}

/** Tier i prices the units in (upTo of tier i-1, upTo of tier i]; its flat fee once any unit falls there. */
function graduated(price: Price, billable: number): Priced {
  const tiers = requireTiers(price);
  const rows: TierBreakdown[] = [];
  let amount = new Dec(0);
  let lower = 0;
  for (const tier of tiers) {
    if (billable <= lower) break;
    const upper = tier.upTo ?? Infinity;
    const units = Math.min(billable, upper) - lower;
    const tierTotal = tierAmount(tier, units);
    rows.push(breakdown(tier, units, tierTotal));
    amount = amount.plus(tierTotal);
    lower = upper;
  }
  if (billable > lower) throw new Error(`invalid price: ${price.metric} tiers end before ${billable} units`);
  return { amount, unitPrice: null, tiers: rows };
}

/**
 * The tier whose range holds the billable quantity prices all of it, plus that tier's flat fee. Nothing
 * billable means nothing charged, not even a flat fee, so that an unused metric costs nothing.
 */
function volume(price: Price, billable: number): Priced {
  const tiers = requireTiers(price);
  if (billable === 0) return { amount: new Dec(0), unitPrice: tiers[0].unitPrice, tiers: [] };
  const tier = tiers.find((t) => t.upTo === null || billable <= t.upTo);
  if (!tier) throw new Error(`invalid price: ${price.metric} tiers end before ${billable} units`);
  const amount = tierAmount(tier, billable);
  return { amount, unitPrice: tier.unitPrice, tiers: [breakdown(tier, billable, amount)] };
}

const MODELS: Record<PriceModel, (price: Price, billable: number) => Priced> = {
  per_unit: perUnit,
  package: perPackage,
  graduated,
  volume,
};

/**
 * One usage line: included units come off first, the price's model charges the rest exactly, and the
 * line is rounded once, half-up, to the currency's minor unit.
 */
export function priceLine(price: Price, quantity: number, currency: string): InvoiceLine {
  assertCount(quantity, `quantity of ${price.metric}`);
  const includedUnits = price.includedUnits ?? 0;
  assertCount(includedUnits, `includedUnits of ${price.metric}`);
  const model = MODELS[price.model];
  if (!model) throw new Error(`invalid price: unknown model ${JSON.stringify(price.model)}`);

  const included = Math.min(quantity, includedUnits);
  const billable = quantity - included;
  const priced = model(price, billable);
  return {
    type: 'usage',
    metric: price.metric,
    quantity,
    included,
    billable,
    unitPrice: priced.unitPrice,
    ...(priced.tiers ? { tiers: priced.tiers } : {}),
    amountMinor: toMinor(priced.amount, currency),
  };
}

function baseFeeLine(baseFeeMinor: number, currency: string): InvoiceLine {
  const exponent = minorUnitExponent(currency);
  return {
    type: 'base_fee',
    metric: 'base_fee',
    quantity: 1,
    included: 0,
    billable: 1,
    unitPrice: new Dec(baseFeeMinor).div(Dec.pow(10, exponent)).toFixed(exponent),
    amountMinor: baseFeeMinor,
  };
}

function usageOf(usage: Record<string, number>, metric: string): number {
  // An own-property check, because a metric may be called `constructor` or `toString`.
  return Object.prototype.hasOwnProperty.call(usage, metric) ? usage[metric] : 0;
}

/**
 * The invoice of one period: the base fee line when there is a base fee, then one usage line per price
 * in plan order, even for metrics with no usage, so that every invoice of a plan has the same lines.
 * Usage of metrics the plan does not price is metered but not billed.
 */
export function priceInvoice(plan: PlanPricing, usage: Record<string, number>): PricedInvoice {
  assertCount(plan.baseFeeMinor, 'baseFeeMinor');
  const lines: InvoiceLine[] = [];
  if (plan.baseFeeMinor > 0) lines.push(baseFeeLine(plan.baseFeeMinor, plan.currency));
  for (const price of plan.prices) lines.push(priceLine(price, usageOf(usage, price.metric), plan.currency));
  const totalMinor = lines.reduce((sum, line) => sum + line.amountMinor, 0);
  if (!Number.isSafeInteger(totalMinor)) throw new RangeError(`invoice total ${totalMinor} is too large`);
  return { currency: plan.currency, lines, totalMinor };
}

export { validatePrices } from './validation';
