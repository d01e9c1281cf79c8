import { registerDecorator, ValidationOptions } from 'class-validator';
import { isCurrency } from '../../billing/pricing';

/** An active ISO 4217 currency code with a minor unit, spelled in capitals. */
export function IsCurrencyCode(options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isCurrencyCode',
      target: object.constructor,
      propertyName,
      options,
      validator: {
        validate: (value: unknown) => isCurrency(value),
        defaultMessage: () => 'must be an active ISO 4217 currency code, such as USD',
      },
    });
}
