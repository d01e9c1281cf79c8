import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import type { Price } from '../../billing/pricing/pricing.types';
import { ApiInt } from '../../common/api-schema';

/**
 * Documentation of a plan's prices. Prices are validated as a whole by `validatePrices` (each model has
 * its own fields), so these classes describe the shape without validating it field by field.
 */
export class TierDto {
  /** Inclusive upper bound of billable units in this tier; null on the last tier only. @example 1000 */
  @ApiInt()
  upTo: number | null;
  /** Decimal string in major units of the plan's currency. @example "0.01" */
  unitPrice: string;
  /** Charged once when any unit falls in this tier. @example "2.00" */
  flatFee?: string;
}

/** `unitPrice` per billable unit. */
export class PerUnitPriceDto {
  /** @example "requests" */
  metric: string;
  @ApiProperty({ enum: ['per_unit'], example: 'per_unit' })
  model: 'per_unit';
  /** Decimal string in major units. @example "0.0004" */
  unitPrice: string;
  /** Units free of charge each period; they come off first. @example 10000 */
  @ApiInt({ minimum: 0 })
  includedUnits?: number;
}

/** `packagePrice` per started package of `packageSize` billable units. */
export class PackagePriceDto {
  /** @example "sms" */
  metric: string;
  @ApiProperty({ enum: ['package'], example: 'package' })
  model: 'package';
  /** Units per package; every started package is charged. @example 1000 */
  @ApiInt({ minimum: 1 })
  packageSize: number;
  /** Price of one package, decimal string in major units. @example "5.00" */
  packagePrice: string;
  /** Units free of charge each period; they come off first. @example 0 */
  @ApiInt({ minimum: 0 })
  includedUnits?: number;
}

/** Each tier prices the billable units that fall inside it. */
export class GraduatedPriceDto {
  /** @example "tokens" */
  metric: string;
  @ApiProperty({ enum: ['graduated'], example: 'graduated' })
  model: 'graduated';
  /** Tiers with strictly increasing `upTo`, the last one null. */
  tiers: TierDto[];
  /** Units free of charge each period; they come off first. @example 0 */
  @ApiInt({ minimum: 0 })
  includedUnits?: number;
}

/** The tier that the total of billable units reaches prices all of them. */
export class VolumePriceDto {
  /** @example "tokens" */
  metric: string;
  @ApiProperty({ enum: ['volume'], example: 'volume' })
  model: 'volume';
  /** Tiers with strictly increasing `upTo`, the last one null. */
  tiers: TierDto[];
  /** Units free of charge each period; they come off first. @example 0 */
  @ApiInt({ minimum: 0 })
  includedUnits?: number;
}

/** In code, a price as pricing reads it; the four classes above document it per model. */
export type PriceDto = Price;

export const PRICE_MODELS_DOC = [PerUnitPriceDto, PackagePriceDto, GraduatedPriceDto, VolumePriceDto];

/** `prices` as an array of prices discriminated by `model`; the models must also be listed as extra models. */
export const PRICES_SCHEMA = {
  type: 'array',
  items: {
    oneOf: PRICE_MODELS_DOC.map((m) => ({ $ref: getSchemaPath(m) })),
    discriminator: {
      propertyName: 'model',
      mapping: {
        per_unit: getSchemaPath(PerUnitPriceDto),
        package: getSchemaPath(PackagePriceDto),
        graduated: getSchemaPath(GraduatedPriceDto),
        volume: getSchemaPath(VolumePriceDto),
      },
    },
  },
} as const;
