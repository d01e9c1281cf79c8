export type KeyKind = 'admin' | 'secret' | 'publishable';

/** Scopes of the platform itself; any other `resource:action` is an operator-defined scope. */
export const ADMIN_SCOPES = [
  'consumers:read',
  'consumers:write',
  'keys:read',
  'keys:write',
  'keys:verify',
  'plans:read',
  'plans:write',
  'usage:read',
  'billing:read',
  'billing:write',
  'audit:read',
  'webhooks:read',
  'webhooks:write',
] as const;
export const CONSUMER_SCOPES = ['usage:read', 'usage:write', 'billing:read', 'keys:read', 'keys:write'] as const;
export const BUILT_IN_RESOURCES = new Set(['consumers', 'keys', 'plans', 'usage', 'billing', 'audit', 'webhooks']);

export const SCOPE_PATTERN = /^(\*|[a-z][a-z0-9_.-]{0,39}:(\*|[a-z][a-z0-9_.-]{0,39}))$/;

/** Does a held scope list grant `required`? `*` grants everything, `res:*` every action on res. */
export function grants(held: readonly string[], required: string): boolean {
  const colon = required.indexOf(':');
  const resource = colon === -1 ? required : required.slice(0, colon);
  for (const s of held) {
    if (s === '*' || s === required) return true;
    if (s.length === resource.length + 2 && s.endsWith(':*') && s.startsWith(resource)) return true;
  }
  return false;
}

/**
 * `requested` is within `held` when every requested scope is granted by a held one. A wildcard asks for
 * every action, so `keys:*` needs `keys:*` or `*`, and `*` needs `*`.
 */
export function isSubset(requested: readonly string[], held: readonly string[]): boolean {
  return requested.every((r) => grants(held, r));
}

function isBuiltIn(scope: string): boolean {
  return scope === '*' || BUILT_IN_RESOURCES.has(scope.split(':')[0]);
}

/** Which scopes a key of `kind` may hold at all; returns a message per scope that does not fit. */
export function scopeProblems(kind: KeyKind, scopes: readonly string[]): string[] {
  const problems: string[] = [];
  scopes.forEach((scope, i) => {
    if (!SCOPE_PATTERN.test(scope)) {
      problems.push(`scopes[${i}]: "${scope}" is not of the form resource:action, resource:* or *`);
      return;
    }
    if (!isBuiltIn(scope)) return;
    const [resource, action] = scope.split(':');
    if (kind === 'admin') {
      if (scope !== '*' && action !== '*' && !(ADMIN_SCOPES as readonly string[]).includes(scope)) {
        problems.push(`scopes[${i}]: "${scope}" is not a known scope`);
      }
      return;
    }
    const allowed: readonly string[] = kind === 'publishable' ? ['usage:write'] : CONSUMER_SCOPES;
    const ok =
      allowed.includes(scope) ||
      (action === '*' && scope !== '*' && allowed.some((a) => a.startsWith(`${resource}:`)) && kind === 'secret');
    if (!ok) problems.push(`scopes[${i}]: "${scope}" is not allowed on a ${kind} key`);
  });
  return problems;
}
