import { isPrivateAddress, literalHostIsPrivate, urlProblem } from './target-guard';

describe('webhook target guard', () => {
  it.each([
    // IPv4, IANA special-purpose registry and multicast
    ['0.0.0.0/8 "this network"', '0.1.2.3'],
    ['10.0.0.0/8 private', '10.0.0.8'],
    ['100.64.0.0/10 shared address space', '100.64.0.1'],
    ['100.64.0.0/10 shared address space, last', '100.127.255.254'],
    ['127.0.0.0/8 loopback', '127.0.0.1'],
    ['169.254.0.0/16 link-local (cloud metadata)', '169.254.169.254'],
    ['172.16.0.0/12 private', '172.16.5.4'],
    ['192.0.0.0/24 IETF protocol assignments', '192.0.0.8'],
    ['192.0.2.0/24 documentation (TEST-NET-1)', '192.0.2.10'],
    ['192.88.99.0/24 deprecated 6to4 relay anycast', '192.88.99.1'],
    ['192.168.0.0/16 private', '192.168.1.1'],
    ['198.18.0.0/15 benchmarking', '198.19.255.1'],
    ['198.51.100.0/24 documentation (TEST-NET-2)', '198.51.100.7'],
    ['203.0.113.0/24 documentation (TEST-NET-3)', '203.0.113.5'],
    ['224.0.0.0/4 multicast', '224.0.0.1'],
    ['224.0.0.0/4 multicast, last', '239.255.255.250'],
    ['240.0.0.0/4 reserved', '240.0.0.1'],
    ['255.255.255.255/32 broadcast', '255.255.255.255'],
    // IPv6
    ['::/128 unspecified', '::'],
    ['::1/128 loopback', '::1'],
    ['::/96 IPv4-compatible', '::7f00:1'],
    ['::/96 IPv4-compatible, public IPv4 inside', '::808:808'],
    ['::ffff:0:0/96 IPv4-mapped', '::ffff:127.0.0.1'],
    ['::ffff:0:0/96 IPv4-mapped, public IPv4 inside', '::ffff:8.8.8.8'],
    ['::ffff:0:0:0/96 IPv4-translated', '::ffff:0:808:808'],
    ['64:ff9b::/96 NAT64', '64:ff9b::7f00:1'],
    ['64:ff9b::/96 NAT64, public IPv4 inside', '64:ff9b::808:808'],
    ['64:ff9b:1::/48 local-use NAT64', '64:ff9b:1::a00:1'],
    ['100::/64 discard-only', '100::1'],
    ['2001::/23 IETF protocol assignments', '2001:1::1'],
    ['2001::/32 Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['2001:2::/48 benchmarking', '2001:2::1'],
    ['2001:db8::/32 documentation', '2001:db8::1'],
    ['2002::/16 6to4', '2002:7f00:1::1'],
    ['2002::/16 6to4, public IPv4 inside', '2002:808:808::1'],
    ['3fff::/20 documentation', '3fff::1'],
    ['5f00::/16 segment routing', '5f00::1'],
    ['fc00::/7 unique local', 'fd00::1'],
    ['fe80::/10 link-local', 'fe80::1'],
    ['fe80::/10 link-local with a zone', 'fe80::1%eth0'],
    ['fec0::/10 deprecated site-local', 'fec0::1'],
    ['ff00::/8 multicast', 'ff02::1'],
    ['outside 2000::/3, unassigned', '4000::1'],
    ['not an address', 'not-an-ip'],
  ])('refuses %s (%s)', (_range, address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '198.20.0.1', '203.0.114.1', '223.255.255.254', '2606:4700:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001::1'])(
    'accepts the public address %s',
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  it('accepts https only, unless private targets are allowed', () => {
    expect(urlProblem('https://hooks.example.com/x', false)).toBeNull();
    expect(urlProblem('http://hooks.example.com/x', false)).toBe('must use https://');
    expect(urlProblem('http://127.0.0.1:8080/x', true)).toBeNull();
    expect(urlProblem('ftp://example.com', true)).toBe('must use https://');
    expect(urlProblem('https://user:pw@example.com', false)).toBe('must not contain credentials');
    expect(urlProblem('nope', false)).toBe('must be an absolute URL');
  });

  it('spots private IP literals, bracketed IPv6 included', () => {
    expect(literalHostIsPrivate('https://[::1]:8443/x')).toBe(true);
    expect(literalHostIsPrivate('https://10.0.0.1/x')).toBe(true);
    expect(literalHostIsPrivate('https://8.8.8.8/x')).toBe(false);
    expect(literalHostIsPrivate('https://[64:ff9b::808:808]/x')).toBe(true);
    expect(literalHostIsPrivate('https://[::ffff:127.0.0.1]/x')).toBe(true);
    expect(literalHostIsPrivate('https://203.0.113.9/x')).toBe(true);
    expect(literalHostIsPrivate('https://example.com/x')).toBe(false);
  });
});
