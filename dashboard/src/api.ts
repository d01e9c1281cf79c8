import { createTollgateClient, type components, type paths } from '../../clients/typescript/src/client';

export type Schemas = components['schemas'];
export type ErrorBody = Schemas['ErrorResponseDto'];

const STORAGE_KEY = 'tollgate.adminKey';

/**
 * The admin key lives in this tab only (sessionStorage survives a reload, not a closed tab) and leaves
 * the page only as the X-API-Key header of calls to this same origin.
 */
let currentKey: string | undefined = sessionStorage.getItem(STORAGE_KEY) ?? undefined;

export function storedKey(): string | undefined {
  return currentKey;
}

export function rememberKey(key: string): void {
  currentKey = key;
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  currentKey = undefined;
  sessionStorage.removeItem(STORAGE_KEY);
}

export const api = createTollgateClient({ baseUrl: window.location.origin, apiKey: () => currentKey });

/** An API error as the console shows it: the API's message and the request id to quote in a report. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    readonly details: Schemas['FieldErrorDto'][] = [],
  ) {
    super(message);
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  return typeof value === 'object' && value !== null && 'error' in value && 'message' in value;
}

/** The data of a successful call, or throws an ApiError carrying the API's message and requestId. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  const { data, error, response } = result;
  if (response.ok && data !== undefined) return data;
  const requestId = response.headers.get('x-request-id');
  if (isErrorBody(error)) throw new ApiError(response.status, error.error, error.message, error.requestId ?? requestId, error.details ?? []);
  throw new ApiError(response.status, 'HTTP_' + response.status, `The API answered ${response.status} ${response.statusText}`, requestId);
}

/** Turns network failures (server down) into an ApiError too, so every page shows errors one way. */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result;
  try {
    result = await request;
  } catch (err) {
    throw new ApiError(0, 'NETWORK_ERROR', `The API could not be reached: ${err instanceof Error ? err.message : String(err)}`, null);
  }
  return unwrap(result);
}

/** For answers without a body (204 No Content): resolves to true, or throws like `call`. */
export function callNoContent(request: Promise<{ error?: unknown; response: Response }>): Promise<true> {
  return call(request.then((r) => ({ error: r.error, response: r.response, data: r.response.ok ? (true as const) : undefined })));
}

/** Cursor pagination parameters, accepted by every list route. */
export interface PageParams {
  limit?: number;
  cursor?: string;
}

/** The query of a GET route plus cursor pagination. */
export type ListQuery<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> & PageParams : never;
