import type { FastifyRequest } from 'fastify';
import type { AuthKey } from '../../auth/auth-key';
import { refusalOf } from './key-outcome';

const key = { id: 'key_a' } as AuthKey;

function request(fields: Partial<Pick<FastifyRequest, 'keyVerification' | 'auth' | 'errorCode' | 'admitted'>>): FastifyRequest {
  return fields as FastifyRequest;
}

describe('refusalOf', () => {
  it.each([
    ['a revoked key refused by ApiKeyGuard', request({ keyVerification: { code: 'KEY_REVOKED', keyId: 'key_a' } }), 401, { keyId: 'key_a', outcome: 'KEY_REVOKED' }],
    [
      'the failed-authentication limit on a known key counts as the key refusal',
      request({ keyVerification: { code: 'KEY_EXPIRED', keyId: 'key_a' }, errorCode: 'RATE_LIMIT_EXCEEDED' }),
      429,
      { keyId: 'key_a', outcome: 'KEY_EXPIRED' },
    ],
    ['an unknown key', request({ keyVerification: { code: 'INVALID_API_KEY', keyId: null } }), 401, null],
    ['no key at all', request({ keyVerification: { code: 'MISSING_API_KEY', keyId: null } }), 401, null],
    [
      'a missing scope',
      request({ keyVerification: { code: 'VALID', keyId: 'key_a' }, auth: { key, ip: '::1' }, errorCode: 'INSUFFICIENT_PERMISSIONS' }),
      403,
      { keyId: 'key_a', outcome: 'INSUFFICIENT_PERMISSIONS' },
    ],
    [
      'a quota',
      request({ keyVerification: { code: 'VALID', keyId: 'key_a' }, auth: { key, ip: '::1' }, errorCode: 'QUOTA_EXCEEDED' }),
      429,
      { keyId: 'key_a', outcome: 'QUOTA_EXCEEDED' },
    ],
    [
      'a 403 from a handler after every guard admitted (already counted as usage)',
      request({ keyVerification: { code: 'VALID', keyId: 'key_a' }, auth: { key, ip: '::1' }, errorCode: 'INSUFFICIENT_PERMISSIONS', admitted: true }),
      403,
      null,
    ],
    ['a success', request({ keyVerification: { code: 'VALID', keyId: 'key_a' }, auth: { key, ip: '::1' }, admitted: true }), 200, null],
    ['a 404 of an admitted request', request({ keyVerification: { code: 'VALID', keyId: 'key_a' }, auth: { key, ip: '::1' }, errorCode: 'NOT_FOUND', admitted: true }), 404, null],
    ['a public route', request({}), 429, null],
  ])('%s', (_name, req, status, expected) => {
    expect(refusalOf(req, status)).toEqual(expected);
  });
});
