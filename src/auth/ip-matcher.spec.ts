import { IpMatcher, ipRuleProblem, normalizeIp } from './ip-matcher';

describe('IpMatcher', () => {
  const m = new IpMatcher(['10.0.0.0/8', '192.168.1.5', '2001:db8::/32', '::1']);

  it.each([
    ['10.1.2.3', true],
    ['11.0.0.1', false],
    ['192.168.1.5', true],
    ['192.168.1.6', false],
    ['::ffff:10.9.9.9', true],
    ['::FFFF:192.168.1.5', true],
    ['2001:db8:1::7', true],
    ['2001:db9::1', false],
    ['::1', true],
    ['not-an-ip', false],
  ])('%s allowed: %s', (ip, allowed) => {
    expect(m.allows(ip)).toBe(allowed);
  });

  it('validates rules', () => {
    expect(ipRuleProblem('10.0.0.0/8')).toBeNull();
    expect(ipRuleProblem('2001:db8::/129')).not.toBeNull();
    expect(ipRuleProblem('10.0.0.0/33')).not.toBeNull();
    expect(ipRuleProblem('example.com')).not.toBeNull();
    expect(ipRuleProblem('1.2.3.4/8/9')).not.toBeNull();
    expect(normalizeIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
  });
});
