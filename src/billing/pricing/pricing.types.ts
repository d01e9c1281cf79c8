/**
 * Shapes of a plan's prices and of the invoice computed from them. Prices are decimal strings in MAJOR
 * units of the plan's currency ("0.0004" USD is four hundredths of a cent); money totals are integers in
 * minor units. See docs/billing.md.
 */

export type PriceModel = 'per_unit' | 'package' | 'graduated' | 'volume';

/** `upTo` is inclusive; null means no upper bound and is allowed on the last tier only. */
export interface Tier {
  upTo: number | null;
  unitPrice: string;
  flatFee?: string;
}

export interface Price {
  metric: string;
  model: PriceModel;
  /** per_unit */
  unitPrice?: string;
  /** package: price of each started package of `packageSize` units */
  packageSize?: number;
  packagePrice?: string;
  /** graduated, volume */
  tiers?: Tier[];
  /** Default 0, for every model: included units come off first, the model prices the rest. */
  includedUnits?: number;
}

export interface PlanPricing {
  currency: string;
  baseFeeMinor: number;
  prices: Price[];
}

export interface TierBreakdown {
  upTo: number | null;
  units: number;
  unitPrice: string;
  flatFee?: string;
  /** Exact decimal string in major units, before rounding to the minor unit. */
  amount: string;
}

export interface InvoiceLine {
  type: 'base_fee' | 'usage';
  /** 'base_fee' for the base fee line. */
  metric: string;
  quantity: number;
  included: number;
  billable: number;
  /**
   * per_unit: the unit price; package: the price of one package; volume: the unit price of the tier
   * reached; graduated: null (see `tiers`); base_fee: the base fee in major units.
   */
  unitPrice: string | null;
  tiers?: TierBreakdown[];
  amountMinor: number;
}

export interface PricedInvoice {
  currency: string;
  lines: InvoiceLine[];
  totalMinor: number;
}

export interface FieldError {
  field: string;
  message: string;
}
