import type { FastifyReply, FastifyRequest } from 'fastify';
import { renderError } from './all-exceptions.filter';
import { AppException } from './app.exception';
import { ErrorCode } from './error-code';

/** A reply that keeps its headers in a map, as Fastify's does, after the rate limiter has set its own. */
function limitedReply() {
  const headers = new Map<string, string>([
    ['ratelimit-policy', '"default";q=1000;w=60'],
    ['ratelimit', '"default";r=999;t=60'],
    ['x-ratelimit-limit', '1000'],
    ['x-ratelimit-remaining', '999'],
    ['x-ratelimit-reset', '60'],
    ['x-request-id', 'req_1'],
  ]);
  const reply = {
    header: (k: string, v: string) => (headers.set(k.toLowerCase(), v), reply),
    removeHeader: (k: string) => (headers.delete(k.toLowerCase()), reply),
    status: () => reply,
    send: () => reply,
  };
  return { headers, reply: reply as unknown as FastifyReply };
}

const request = { id: 'req_1', log: { error: () => undefined, warn: () => undefined } } as unknown as FastifyRequest;

describe('renderError', () => {
  it('answers a 401 raised after the rate limiter admitted the request without its headers', () => {
    const { headers, reply } = limitedReply();
    renderError(new AppException(ErrorCode.INVALID_API_KEY), request, reply);
    expect([...headers.keys()]).toEqual(['x-request-id']);
  });

  it('keeps them on other errors of a known key', () => {
    const { headers, reply } = limitedReply();
    renderError(AppException.conflict('no'), request, reply);
    expect(headers.size).toBe(6);
  });
});
