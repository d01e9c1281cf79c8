import { grants, isSubset, scopeProblems } from './scopes';

describe('scopes', () => {
  it.each([
    [['*'], 'keys:write', true],
    [['keys:*'], 'keys:write', true],
    [['keys:*'], 'keysx:write', false],
    [['keys:read'], 'keys:write', false],
    [['keys:read'], 'keys:read', true],
    [['orders:read'], 'orders:read', true],
    [[], 'usage:read', false],
    [['keys:read'], 'keys:*', false],
    [['keys:*'], 'keys:*', true],
    [['keys:*'], '*', false],
  ])('%j grants %s: %s', (held, required, expected) => {
    expect(grants(held, required)).toBe(expected);
  });

  it('subset refuses escalation', () => {
    expect(isSubset(['consumers:read'], ['consumers:read', 'keys:read'])).toBe(true);
    expect(isSubset(['consumers:write'], ['consumers:read'])).toBe(false);
    expect(isSubset(['*'], ['keys:*', 'consumers:*'])).toBe(false);
    expect(isSubset([], ['consumers:read'])).toBe(true);
  });

  it('limits what each kind may hold', () => {
    expect(scopeProblems('admin', ['*', 'keys:verify', 'orders:read'])).toEqual([]);
    expect(scopeProblems('admin', ['keys:fly'])).toHaveLength(1);
    expect(scopeProblems('secret', ['usage:read', 'keys:*', 'orders:read'])).toEqual([]);
    expect(scopeProblems('secret', ['consumers:read'])).toHaveLength(1);
    expect(scopeProblems('secret', ['*'])).toHaveLength(1);
    expect(scopeProblems('publishable', ['usage:write', 'orders:read'])).toEqual([]);
    expect(scopeProblems('publishable', ['usage:read'])).toHaveLength(1);
    expect(scopeProblems('publishable', ['keys:write'])).toHaveLength(1);
    expect(scopeProblems('secret', ['Bad Scope'])).toHaveLength(1);
  });
});
