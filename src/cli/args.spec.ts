import { Options, parseArgs, UsageError } from './args';

describe('parseArgs', () => {
  it('splits the command, positionals and options', () => {
    const a = parseArgs(['revoke-key', 'key_1', '--json']);
    expect(a.command).toBe('revoke-key');
    expect(a.positionals).toEqual(['key_1']);
    expect(a.options.get('json')).toBe(true);
    const b = parseArgs(['create-admin-key', '--name', 'ops team', '--scopes=consumers:read,keys:read']);
    expect(Object.fromEntries(b.options)).toEqual({ name: 'ops team', scopes: 'consumers:read,keys:read' });
  });

  it('refuses a value-less option, a repeated one, and a value on a flag', () => {
    expect(() => parseArgs(['create-admin-key', '--name'])).toThrow(UsageError);
    expect(() => parseArgs(['create-admin-key', '--name', '--json'])).toThrow(/needs a value/);
    expect(() => parseArgs(['x', '--name', 'a', '--name', 'b'])).toThrow(/twice/);
    expect(() => parseArgs(['x', '--json=yes'])).toThrow(/no value/);
  });

  it('treats a lone dash as a value (stdin)', () => {
    expect(parseArgs(['revoke-key', '--key', '-']).options.get('key')).toBe('-');
  });

  it('refuses options a command does not know', () => {
    expect(() => new Options(parseArgs(['generate-key', '--envv', 'test']), ['env'])).toThrow(/unknown option --envv/);
    expect(new Options(parseArgs(['generate-key', '--env', 'test', '--json']), ['env']).string('env')).toBe('test');
  });
});
