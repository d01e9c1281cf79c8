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
