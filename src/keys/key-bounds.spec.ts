import { ipRangesWithin, reachProblem } from './key-bounds';

describe('ipRangesWithin', () => {
  it.each([
    [['127.0.0.1'], ['127.0.0.1/32'], true],
    [['127.0.0.1/32'], ['127.0.0.0/8'], true],
    [['10.1.0.0/16', '10.2.3.4'], ['10.0.0.0/8'], true],
    [['10.0.0.0/8'], ['10.0.0.0/9', '10.128.0.0/9'], true],
    [['10.0.0.0/8'], ['10.0.0.0/9', '10.129.0.0/16'], false],
    [['127.0.0.0/8'], ['127.0.0.1/32'], false],
    [['10.0.0.1'], ['127.0.0.1'], false],
    [[], ['127.0.0.1'], false],
    [[], [], true],
    [['0.0.0.0/0'], [], true],
    [['::1'], ['127.0.0.1'], false],
    [['::ffff:127.0.0.1'], ['127.0.0.1'], true],
    [['2001:db8::1'], ['2001:db8::/32'], true],
    [['2001:db8:1::/48'], ['2001:db8::/32'], true],
    [['2001:db9::/32'], ['2001:db8::/32'], false],
    [['2001:db8::/31'], ['2001:db8::/32'], false],
    [['64:ff9b::7f00:1'], ['64:ff9b::127.0.0.1/128'], true],
    [['10.1.2.3/8'], ['10.0.0.0/8'], true],
    [['not an ip'], ['0.0.0.0/0'], false],
  ])('%j within %j: %s', (inner, outer, expected) => {
    expect(ipRangesWithin(inner, outer)).toBe(expected);
  });
});

describe('reachProblem', () => {
  const at = (h: number) => Date.UTC(2027, 0, 1) + h * 3600_000;
  it.each([
    [{ expiresAt: null, allowedIps: [] }, { expiresAt: null, allowedIps: [] }, null],
    [{ expiresAt: at(2), allowedIps: [] }, { expiresAt: null, allowedIps: [] }, null],
    [{ expiresAt: null, allowedIps: [] }, { expiresAt: at(1), allowedIps: [] }, /outlives/],
    [{ expiresAt: at(2), allowedIps: [] }, { expiresAt: at(1), allowedIps: [] }, /outlives/],
    [{ expiresAt: at(1), allowedIps: [] }, { expiresAt: at(1), allowedIps: [] }, null],
    [{ expiresAt: null, allowedIps: [] }, { expiresAt: null, allowedIps: ['10.0.0.0/8'] }, /outside its own ranges/],
    [{ expiresAt: null, allowedIps: ['10.1.0.0/16'] }, { expiresAt: null, allowedIps: ['10.0.0.0/8'] }, null],
  ])('%j made by %j', (key, caller, expected) => {
    const p = reachProblem(key, caller);
    if (expected === null) expect(p).toBeNull();
    else expect(p).toMatch(expected);
  });

  it('judges only the dimensions a change touches', () => {
    const caller = { expiresAt: at(1), allowedIps: ['10.0.0.0/8'] };
    const key = { expiresAt: null, allowedIps: [] };
    expect(reachProblem(key, caller, { expiry: false, ips: false })).toBeNull();
    expect(reachProblem(key, caller, { expiry: false, ips: true })).toMatch(/ranges/);
    expect(reachProblem(key, caller, { expiry: true, ips: false })).toMatch(/outlives/);
  });
});
