export interface ServiceUrls {
  api: string;
  docs?: string;
  dashboard: string;
}

/** Where a person on this machine reaches the service: a wildcard listen address is shown as localhost. */
export function serviceUrls(env: { HOST: string; PORT: number; DOCS_ENABLED: boolean }): ServiceUrls {
  const wildcard = ['0.0.0.0', '::', '::0', ''].includes(env.HOST);
  const host = wildcard ? 'localhost' : env.HOST.includes(':') ? `[${env.HOST}]` : env.HOST;
  const base = `http://${host}:${env.PORT}`;
  return { api: `${base}/v1`, docs: env.DOCS_ENABLED ? `${base}/docs` : undefined, dashboard: `${base}/dashboard` };
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
