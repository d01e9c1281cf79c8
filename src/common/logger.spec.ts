import { Writable } from 'node:stream';
import { createPino, loggableUrl, PinoNestLogger, writeAfterLogs } from './logger';

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

describe('log lines', () => {
  function capture() {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    return { lines, logger: createPino('debug', undefined, stream) };
  }

  it('never carry the password of a URL, in messages or errors', () => {
    const { lines, logger } = capture();
    logger.warn('redis: connect to redis://:s3cret@cache:6379 failed');
    logger.error({ err: new Error('cannot reach mysql://root:hunter2@db/tollgate') }, 'database down');
    new PinoNestLogger(logger).error('TypeORM: mysql://app:pw123@db:3306/x refused', 'TypeOrmModule');
    const text = lines.join('');
    expect(text).not.toMatch(/s3cret|hunter2|pw123/);
    expect(text).toContain('redis://:***@cache:6379');
    expect(text).toContain('mysql://root:***@db/tollgate');
  });

  it('put Nest start-up chatter at debug and drop the controller-prefix lines', () => {
    const { lines, logger } = capture();
    const nest = new PinoNestLogger(logger);
    nest.log('TypeOrmModule dependencies initialized', 'InstanceLoader');
    nest.log('Mapped {/metrics, GET} route', 'RouterExplorer');
    nest.log('MetricsController {/v1/metrics}:', 'RoutesResolver');
    nest.log('applied migrations', 'Database');
    const parsed = lines.map((l) => JSON.parse(l));
    expect(parsed.map((l) => [l.level, l.msg])).toEqual([
      ['debug', 'TypeOrmModule dependencies initialized'],
      ['debug', 'Mapped {/metrics, GET} route'],
      ['info', 'applied migrations'],
    ]);
  });

  it('writeAfterLogs writes on the logger stream, after the lines logged before it', () => {
    const { lines, logger } = capture();
    logger.info('first');
    writeAfterLogs(logger, 'BANNER\n');
    expect(lines.map((l) => (l.startsWith('{') ? JSON.parse(l).msg : l))).toEqual(['first', 'BANNER\n']);
  });
});
