import { EVENT_TYPES } from './webhook-events';
import { addedEvents, ALL_EVENT_READ_SCOPES, canReadEventData, missingToSubscribe, readScopeOf, resourceIdsOf } from './event-scopes';

describe('event scopes', () => {
  it.each([
    ['key.created', 'keys:read'],
    ['key.leaked', 'keys:read'],
    ['consumer.suspended', 'consumers:read'],
    ['invoice.closed', 'billing:read'],
    ['credits.exhausted', 'billing:read'],
    ['quota.threshold', 'usage:read'],
    ['rate_limit.exceeded', 'usage:read'],
    ['spend.cap_reached', 'usage:read'],
    ['webhook.endpoint_disabled', null],
    ['webhook.test', null],
    ['orders.created', '*'],
    ['nodot', '*'],
  ])('%s needs %s', (type, scope) => {
    expect(readScopeOf(type)).toBe(scope);
  });

  it('maps every event type the platform sends', () => {
    for (const type of EVENT_TYPES) expect(readScopeOf(type)).not.toBe('*');
  });

  it('asks every read scope for *, and honours wildcards', () => {
    expect(missingToSubscribe(['webhooks:write'], ['*'])).toEqual([...ALL_EVENT_READ_SCOPES].sort());
    expect(missingToSubscribe(['webhooks:write', 'keys:read'], ['key.created', 'consumer.created'])).toEqual(['consumers:read']);
    expect(missingToSubscribe(['webhooks:write'], ['webhook.endpoint_disabled'])).toEqual([]);
    expect(missingToSubscribe(['*'], ['*'])).toEqual([]);
    expect(missingToSubscribe(['webhooks:*', 'consumers:*', 'keys:read', 'billing:read', 'usage:read'], ['*'])).toEqual([]);
  });

  it('finds what an update adds', () => {
    expect(addedEvents(['key.created'], ['key.created', 'invoice.closed'])).toEqual(['invoice.closed']);
    expect(addedEvents(['key.created'], ['*'])).toEqual(['*']);
    expect(addedEvents(['*'], ['key.created'])).toEqual([]);
  });

  it('reads data only with the scope', () => {
    expect(canReadEventData(['webhooks:read'], 'consumer.created')).toBe(false);
    expect(canReadEventData(['webhooks:read', 'consumers:read'], 'consumer.created')).toBe(true);
    expect(canReadEventData(['webhooks:read'], 'webhook.test')).toBe(true);
  });

  it('collects resource ids, and nothing else, from event data', () => {
    expect(resourceIdsOf({ key: { id: 'key_1', consumerId: 'cons_1', name: 'n', scopes: ['x'] }, newKey: { id: 'key_2', consumerId: 'cons_1' }, gracePeriodSeconds: 3 })).toEqual([
      'key_1',
      'cons_1',
      'key_2',
    ]);
    expect(resourceIdsOf({ consumer: { id: 'cons_1', externalId: 'acct_9', metadata: { taxId: 'x' } } })).toEqual(['cons_1']);
    expect(resourceIdsOf({ invoice: { id: 'inv_1', periodId: 'per_1', consumerId: 'cons_1', lines: [{ id: 'x' }] } })).toEqual(['inv_1', 'cons_1', 'per_1']);
    expect(resourceIdsOf({ consumerId: 'cons_1', keyId: 'key_1', metric: 'requests' })).toEqual(['key_1', 'cons_1']);
    expect(resourceIdsOf(null)).toEqual([]);
  });
});
