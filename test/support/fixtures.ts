import type { TestServer } from './server';

/** Creates a consumer and one key for it through the admin API; returns both. */
export async function consumerWithKey(
  server: TestServer,
  keyBody: Record<string, unknown> = {},
  consumerBody: Record<string, unknown> = {},
): Promise<{ consumer: any; key: any; plaintext: string }> {
  const c = await server.post('/v1/admin/consumers', { name: 'Acme', ...consumerBody }, server.adminKey);
  if (c.status !== 201) throw new Error(`consumer create failed: ${c.status} ${c.text}`);
  const k = await server.post(
    `/v1/admin/consumers/${c.body.id}/keys`,
    { name: 'backend', scopes: ['usage:read', 'usage:write', 'billing:read', 'keys:read', 'keys:write'], ...keyBody },
    server.adminKey,
  );
  if (k.status !== 201) throw new Error(`key create failed: ${k.status} ${k.text}`);
  return { consumer: c.body, key: k.body, plaintext: k.body.key };
}

export async function adminKeyWith(server: TestServer, scopes: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const r = await server.post('/v1/admin/admin-keys', { name: `admin ${scopes.join(',')}`, scopes, ...extra }, server.adminKey);
  if (r.status !== 201) throw new Error(`admin key create failed: ${r.status} ${r.text}`);
  return r.body.key;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
