export class PingDto {
  /** @example "ok" */
  status: 'ok';
}

/** The calling key as the guards saw it; answered from memory, without a database read. */
export class MePingDto {
  /** @example "key_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  keyId: string;
  /** @example "cons_01JD5X3V8Q2mZt9aK3LpQw7Rv" */
  consumerId: string;
  /** @example "live" */
  environment: 'live' | 'test';
}
