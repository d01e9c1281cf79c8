import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, paths };
export type Schemas = components['schemas'];
export type TollgateClient = Client<paths>;

export interface TollgateClientOptions extends Omit<ClientOptions, 'baseUrl'> {
  /** Where the service runs, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** The API key sent as `X-API-Key` on every request. A function is asked per request (e.g. a key held in memory). */
  apiKey?: string | (() => string | undefined);
}

/** A typed client for the Tollgate REST API, generated from its OpenAPI document. */
export function createTollgateClient({ apiKey, ...options }: TollgateClientOptions): TollgateClient {
  const client = createClient<paths>(options);
  if (apiKey !== undefined) {
    client.use({
      onRequest({ request }) {
        const key = typeof apiKey === 'function' ? apiKey() : apiKey;
        if (key) request.headers.set('X-API-Key', key);
        return request;
      },
    });
  }
  return client;
}

export type ExportRow = Schemas['ExportRowDto'];
export type ExportQuery = { period: string; consumerId?: string };

/** Billing rows of the periods that start in `period` (YYYY-MM), as JSON rows. */
export async function exportBilling(client: TollgateClient, query: ExportQuery & { format: 'json' }): Promise<ExportRow[]>;
/** The same export as CSV (with a header row) or NDJSON (one row per line): text, to save or stream. */
export async function exportBilling(client: TollgateClient, query: ExportQuery & { format: 'csv' | 'ndjson' }): Promise<string>;
/**
 * The billing export, typed by format. One operation answers three media types, so its generated type is
 * their union; the format chosen in the query tells which one comes back.
 */
export async function exportBilling(client: TollgateClient, query: ExportQuery & { format: 'json' | 'csv' | 'ndjson' }): Promise<ExportRow[] | string> {
  if (query.format === 'json') {
    const { data, error, response } = await client.GET('/v1/admin/billing/export', { params: { query } });
    if (!Array.isArray(data)) throw new TollgateError(response.status, error);
    return data;
  }
  const { data, error, response } = await client.GET('/v1/admin/billing/export', { params: { query }, parseAs: 'text' });
  if (data === undefined) throw new TollgateError(response.status, error);
  return data;
}

/** An error answer of the API, with its stable code. */
export class TollgateError extends Error {
  constructor(
    readonly status: number,
    readonly body: Schemas['ErrorResponseDto'] | undefined,
  ) {
    super(body ? `${body.error}: ${body.message}` : `HTTP ${status}`);
  }
}
