import { loggableUrl } from './logger';

describe('loggableUrl', () => {
  it.each([
    ['/v1/me', '/v1/me'],
    ['/v1/me/usage?from=2026-01-01&to=2026-02-01', '/v1/me/usage?from=2026-01-01&to=2026-02-01'],
    ['/v1/me?api_key=abc', '/v1/me?api_key=[redacted]'],
    ['/v1/me?x=tg_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '/v1/me?x=[redacted]'],
    ['/v1/me?token', '/v1/me?token=[redacted]'],
  ])('%s → %s', (url, expected) => {
    expect(loggableUrl(url)).toBe(expected);
  });
});
