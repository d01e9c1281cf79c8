import { isPrivateAddress, literalHostIsPrivate, urlProblem } from './target-guard';

describe('webhook target guard', () => {
  it.each([
    ['127.0.0.1', true],
    ['10.0.0.8', true],
    ['172.16.5.4', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['8.8.8.8', false],
    ['2606:4700:4700::1111', false],
    ['not-an-ip', true],
  ])('%s is private: %s', (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

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
    expect(literalHostIsPrivate('https://example.com/x')).toBe(false);
  });
});
