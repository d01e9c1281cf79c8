import { maskUrlPasswords } from './mask-url';

describe('maskUrlPasswords', () => {
  it.each([
    ['mysql://root:pw@db:3306/x', 'mysql://root:***@db:3306/x'],
    ['mysql:/root:s3cret@host/db', 'mysql:/root:***@host/db'],
    ['connect to redis://:p%40ss@cache:6379 failed', 'connect to redis://:***@cache:6379 failed'],
    ['DATABASE_URL="mysql://u:a:b@h/db": bad', 'DATABASE_URL="mysql://u:***@h/db": bad'],
    ['two: mysql://a:1@h/d and rediss://b:2@r', 'two: mysql://a:***@h/d and rediss://b:***@r'],
  ])('%s', (input, expected) => {
    expect(maskUrlPasswords(input)).toBe(expected);
    expect(maskUrlPasswords(input)).not.toMatch(/pw|s3cret|p%40ss|a:b|:1@|:2@/);
  });

  it.each(['mysql://root@db:3306/x', 'http://localhost:3000/docs', 'no url here', 'at 12:30 user@example.com'])(
    'leaves %s alone',
    (text) => expect(maskUrlPasswords(text)).toBe(text),
  );
});
