/**
 * Anything shaped like an issued key (`prefix_env_` + 38 or more base62 characters). Callers paste keys
 * into names, metadata and query strings; neither the audit log nor the logs may keep them.
 */
const KEY_LIKE = /[a-z][a-z0-9]{0,15}_(?:live|test)_[0-9A-Za-z]{38,}/g;

export const REDACTED = '[redacted]';

export function maskKeys(text: string): string {
  return text.replace(KEY_LIKE, REDACTED);
}
