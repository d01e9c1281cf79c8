import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * The IPv6 global unicast space (2000::/3). Everything outside it is unassigned, or special-purpose and
 * not globally reachable (::/96 IPv4-compatible, ::ffff:0:0/96 IPv4-mapped, 64:ff9b::/96 and
 * 64:ff9b:1::/48 NAT64, 100::/64 discard, fc00::/7, fe80::/10, fec0::/10, ff00::/8, …).
 */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * Is this address one a webhook may not reach unless WEBHOOK_ALLOW_PRIVATE_TARGETS=true? Only globally
 * reachable unicast passes: ipaddr.js names every range of the IANA IPv4 and IPv6 special-purpose
 * registries (private, loopback, link-local, shared 100.64.0.0/10, documentation, benchmarking,
 * reserved 240.0.0.0/4, broadcast, multicast, 2001::/23, 2001:db8::/32, 3fff::/20, …) and calls the rest
 * `unicast`. Addresses that embed an IPv4 address — IPv4-mapped and -compatible, NAT64, 6to4, Teredo —
 * are refused whatever they embed: the path they take to that address is not ours to judge.
 * Anything that does not parse is refused too.
 */
export function isPrivateAddress(address: string): boolean {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return true;
  }
  if (parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_V6)) return true;
  return parsed.range() !== 'unicast';
}

/** Why a URL cannot be an endpoint (scheme, form), or null. Resolution is checked separately. */
export function urlProblem(raw: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) return 'must use https://';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.hash) return 'must not contain a fragment';
  return null;
}

function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Resolves the URL's host and refuses it if any address is private. */
export async function resolvesPublicly(raw: string): Promise<string | null> {
  const host = hostOf(new URL(raw));
  if (isIP(host)) return isPrivateAddress(host) ? 'must not point to a private, loopback or link-local address' : null;
  const addresses = await new Promise<LookupAddress[] | Error>((ok) =>
    dnsLookup(host, { all: true }, (err, addrs) => ok(err ? err : addrs)),
  );
  if (addresses instanceof Error) return `host ${host} does not resolve`;
  if (addresses.some((a) => isPrivateAddress(a.address))) return 'must not resolve to a private, loopback or link-local address';
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The `lookup` of outgoing webhook sockets: the address is checked when the connection is made, so a
 * name that resolved publicly when the endpoint was created cannot be re-pointed inside (DNS rebinding).
 */
export function publicOnlyLookup(hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to a private address`);
      e.code = 'EPRIVATETARGET';
      return callback(e, []);
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

export function literalHostIsPrivate(raw: string): boolean {
  const host = hostOf(new URL(raw));
  return isIP(host) !== 0 && isPrivateAddress(host);
}
