/** What REDIS_URL names: one Redis server (or a primary behind a proxy or Sentinel-managed address), or a Redis Cluster. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

/** `redis+cluster://[user:pass@]host:port,host:port,…` (or `rediss+cluster://` for TLS): a few seed nodes of a cluster. */
const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/i;
const NODE = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):(\d{1,5})$/i;

/**
 * Reads REDIS_URL. A cluster URL lists seed nodes (any few masters or replicas: the client learns the
 * rest from CLUSTER SLOTS), separated by commas; it takes no database number, since a cluster has only
 * database 0. Throws with a message naming what is wrong (never the password).
 */
export function parseRedisTarget(url: string): RedisTarget {
  if (/^rediss?:\/\//i.test(url)) return { kind: 'single', url };
  const m = CLUSTER_URL.exec(url);
  if (!m) {
    if (/^rediss?\+cluster:\/\//i.test(url)) {
      throw new Error('a cluster URL lists host:port seed nodes separated by commas and no database number, e.g. redis+cluster://10.0.0.1:7000,10.0.0.2:7000');
    }
    throw new Error('must look like redis://host:6379, or redis+cluster://host:7000,host:7001 for a Redis Cluster');
  }
  const [, scheme, auth, hostList] = m;
  const nodes = hostList.split(',').map((part) => {
    const node = NODE.exec(part.trim());
    const port = node ? Number(node[2]) : 0;
    if (!node || port < 1 || port > 65535) throw new Error(`cluster seed node "${part.trim()}" is not host:port`);
    return { host: node[1].replace(/^\[|\]$/g, ''), port };
  });
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon < 0 ? auth : auth.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : decodeURIComponent(auth.slice(colon + 1)) || undefined;
  }
  return { kind: 'cluster', nodes, username, password, tls: scheme.toLowerCase() === 'rediss' };
}

/** The message for a bad REDIS_URL, or undefined when it is usable. */
export function redisUrlProblem(url: string): string | undefined {
  try {
    parseRedisTarget(url);
    return undefined;
  } catch (err) {
    return `REDIS_URL ${(err as Error).message}`;
  }
}

/**
 * The hash tag of a Redis key (`{…}`, as Redis Cluster reads it: the first `{` and the next `}`, if
 * something is between them), else the whole key. Keys with the same tag live in the same hash slot, so a
 * script may touch them together; Tollgate tags every counter of a consumer with its id.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
