import { Webhook } from 'standardwebhooks';
import { newSecret, signatureHeader } from './signing';

describe('Standard Webhooks signing', () => {
  const body = JSON.stringify({ id: 'evt_1', type: 'webhook.test', createdAt: '2026-11-22T10:00:00.000Z', data: {} });

  it('produces signatures the standardwebhooks library verifies, with one or two secrets', () => {
    const current = newSecret();
    const previous = newSecret();
    const ts = Math.floor(Date.now() / 1000);
    const header = signatureHeader([current, previous], 'evt_1', ts, body);
    expect(header.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': header };
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, headers)).toThrow();
  });

  it('matches the library signer byte for byte', () => {
    const secret = newSecret();
    const at = new Date(1_764_000_000_000);
    expect(signatureHeader([secret], 'msg_2', Math.floor(at.getTime() / 1000), body)).toBe(new Webhook(secret).sign('msg_2', at, body));
  });

  it('makes whsec_ secrets of 32 random bytes', () => {
    const a = newSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(newSecret()).not.toBe(a);
  });
});
