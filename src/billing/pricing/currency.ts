/**
 * ISO 4217 currencies: which codes a plan may use, and how many decimals its minor unit has.
 *
 * The list is ISO 4217 "list one" as of 2025 (amendments up to 178): HRK, SLL, ZWL, CUC and ANG are
 * withdrawn and refused, their successors (EUR, SLE, ZWG, CUP, XCG) accepted. Precious metals, SDR and
 * other units without a minor unit (XAU, XDR, XTS, XXX, …) are left out: they cannot be billed in
 * integer minor units.
 */

/** Exponent 0: the major unit is the smallest unit there is. */
const ZERO_DECIMAL = [
  'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF',
  'XOF', 'XPF',
] as const;

const THREE_DECIMAL = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'] as const;

/** Chilean and Uruguayan units of account are quoted to four decimals. */
const FOUR_DECIMAL = ['CLF', 'UYW'] as const;

const TWO_DECIMAL = [
  'AED', 'AFN', 'ALL', 'AMD', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BGN', 'BMD', 'BND',
  'BOB', 'BOV', 'BRL', 'BSD', 'BTN', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHE', 'CHF', 'CHW', 'CNY', 'COP',
  'COU', 'CRC', 'CUP', 'CVE', 'CZK', 'DKK', 'DOP', 'DZD', 'EGP', 'ERN', 'ETB', 'EUR', 'FJD', 'FKP', 'GBP',
  'GEL', 'GHS', 'GIP', 'GMD', 'GTQ', 'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'IRR', 'JMD',
  'KES', 'KGS', 'KHR', 'KPW', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'MAD', 'MDL', 'MGA', 'MKD',
  'MMK', 'MNT', 'MOP', 'MRU', 'MUR', 'MVR', 'MWK', 'MXN', 'MXV', 'MYR', 'MZN', 'NAD', 'NGN', 'NIO', 'NOK',
  'NPR', 'NZD', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'QAR', 'RON', 'RSD', 'RUB', 'SAR', 'SBD', 'SCR',
  'SDG', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'SSP', 'STN', 'SVC', 'SYP', 'SZL', 'THB', 'TJS', 'TMT',
  'TOP', 'TRY', 'TTD', 'TWD', 'TZS', 'UAH', 'USD', 'USN', 'UYU', 'UZS', 'VED', 'VES', 'WST', 'XCD', 'XCG',
  'YER', 'ZAR', 'ZMW', 'ZWG',
] as const;

const EXPONENTS: ReadonlyMap<string, number> = new Map<string, number>([
  ...ZERO_DECIMAL.map((c) => [c, 0] as const),
  ...TWO_DECIMAL.map((c) => [c, 2] as const),
  ...THREE_DECIMAL.map((c) => [c, 3] as const),
  ...FOUR_DECIMAL.map((c) => [c, 4] as const),
]);

/** Every code `isCurrency` accepts, sorted; for API documentation and enum schemas. */
export const CURRENCY_CODES: readonly string[] = [...EXPONENTS.keys()].sort();

/** Is `code` an active ISO 4217 currency, spelled as ISO spells it (three uppercase letters)? */
export function isCurrency(code: unknown): code is string {
  return typeof code === 'string' && EXPONENTS.has(code);
}

/**
 * Decimals of the currency's minor unit. Unknown codes get 2, the most common exponent, so that pricing
 * an already-stored plan never fails here; plans are meant to be checked with `isCurrency` when saved.
 * The code is upper-cased first, because `jpy` priced as a 2-decimal currency would be off a hundredfold.
 */
export function minorUnitExponent(currency: string): number {
  return EXPONENTS.get(currency.toUpperCase()) ?? 2;
}
