/**
 * Documentation of a plan's prices. Prices are validated as a whole by `validatePrices` (each model has
 * its own fields), so these classes describe the shape without validating it field by field.
 */
export class TierDto {
  /** Inclusive upper bound of billable units in this tier; null on the last tier only. @example 1000 */
  upTo: number | null;
  /** Decimal string in major units of the plan's currency. @example "0.01" */
  unitPrice: string;
  /** Charged once when any unit falls in this tier. @example "2.00" */
  flatFee?: string;
}

export class PriceDto {
  /** @example "requests" */
  metric: string;
  /** `per_unit`, `package`, `graduated` or `volume`. @example "per_unit" */
  model: 'per_unit' | 'package' | 'graduated' | 'volume';
  /** per_unit: decimal string in major units. @example "0.0004" */
  unitPrice?: string;
  /** package: units per package; every started package is charged. @example 1000 */
  packageSize?: number;
  /** package: price of one package. @example "5.00" */
  packagePrice?: string;
  /** graduated and volume: tiers with strictly increasing `upTo`, the last one null. */
  tiers?: TierDto[];
  /** Units free of charge each period; they come off first. @example 10000 */
  includedUnits?: number;
}
