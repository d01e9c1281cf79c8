/** `scheme://user:password@` anywhere in a text; the password is what gets masked. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/?[^\s:/@]*):([^\s@/]*)@/gi;

/**
 * Masks the password of every URL in `text` (`mysql://root:pw@db/x` → `mysql://root:***@db/x`), so that
 * configuration errors, connection errors and logs can name a URL without leaking its secret.
 */
export function maskUrlPasswords(text: string): string {
  if (!text.includes(':/')) return text;
  return text.replace(URL_CREDENTIALS, (_m, head: string, pass: string) => `${head}:${pass ? '***' : ''}@`);
}
