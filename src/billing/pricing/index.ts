export * from './pricing.types';
export * from './currency';
export { priceInvoice, priceLine } from './pricing';
export { DECIMAL_PATTERN, METRIC_PATTERN, PRICE_MODELS, validatePrices } from './validation';
