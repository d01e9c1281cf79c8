import { BlockList, isIP } from 'node:net';

/** `::ffff:a.b.c.d` is the IPv4 address a.b.c.d, so that IPv4 rules match it. */
export function normalizeIp(ip: string): string {
  const lower = ip.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return lower;
}

/** Returns an error message for an entry that is not an IPv4/IPv6 address or CIDR block, else null. */
export function ipRuleProblem(rule: string): string | null {
  const [addr, bits, ...rest] = rule.split('/');
  const family = isIP(normalizeIp(addr));
  if (!family || rest.length) return `"${rule}" is not an IP address or CIDR block`;
  if (bits !== undefined) {
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${rule}" has a prefix length outside 0-${max}`;
  }
  return null;
}

/** An allowlist compiled once per cached key. */
export class IpMatcher {
  private readonly list = new BlockList();

  constructor(rules: readonly string[]) {
    for (const rule of rules) {
      const [rawAddr, bits] = rule.split('/');
      const addr = normalizeIp(rawAddr);
      const type = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.list.addAddress(addr, type);
      else this.list.addSubnet(addr, Number(bits), type);
    }
  }

  allows(ip: string): boolean {
    const addr = normalizeIp(ip);
    const family = isIP(addr);
    if (!family) return false;
    return this.list.check(addr, family === 4 ? 'ipv4' : 'ipv6');
  }
}
