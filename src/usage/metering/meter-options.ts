import type { FastifyRequest } from 'fastify';

export const METER = 'tollgate:meter';

/**
 * How many units a request costs: a number, or a function of what the handler returned (and the request),
 * asked after the handler ran — tokens generated, bytes sent, rows exported.
 */
export type MeterCost<T = any> = number | ((result: T, request: FastifyRequest) => number);

export interface MeterOptions {
  metric: string;
  cost: MeterCost;
}
