export interface ServiceUrls {
  api: string;
  docs?: string;
  dashboard: string;
}

/** Where a person on this machine reaches the service: a wildcard listen address is shown as localhost. */
export function serviceUrls(app: { host: string; port: number; docsEnabled: boolean }): ServiceUrls {
  const wildcard = ['0.0.0.0', '::', '::0', ''].includes(app.host);
  const host = wildcard ? 'localhost' : app.host.includes(':') ? `[${app.host}]` : app.host;
  const base = `http://${host}:${app.port}`;
  return { api: `${base}/v1`, docs: app.docsEnabled ? `${base}/docs` : undefined, dashboard: `${base}/dashboard` };
}

/** The block printed once, on the first start, after everything else the start-up wrote. */
export function startupBanner(urls: ServiceUrls, key: string, anotherKeyCommand: string): string {
  const rule = '='.repeat(72);
  return [
    '',
    rule,
    ' Tollgate is ready.',
    '',
    `   API          ${urls.api}`,
    ...(urls.docs ? [`   Swagger UI   ${urls.docs}`] : []),
    `   Dashboard    ${urls.dashboard}`,
    '',
    ' First admin key (scope *). It is shown only this once:',
    '',
    `   ${key}`,
    '',
    ' Keep it in a secret store. Narrower admin keys: POST /v1/admin/admin-keys;',
    ` another full one: ${anotherKeyCommand}`,
    rule,
    '',
    '',
  ].join('\n');
}
