import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppException } from './app.exception';

/**
 * How deep a request body's arrays and objects may nest. No request of this API needs more than a few
 * levels (metadata objects included); a deeper body is refused while it is parsed, before the validation
 * pipe walks it recursively (which is where deeply nested JSON would exhaust the stack).
 */
export const MAX_JSON_DEPTH = 64;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Does this JSON text nest arrays or objects deeper than `max`? One pass over the characters, skipping
 * strings, so that its cost is linear in the length whatever the nesting. Malformed text is left to the
 * parser to refuse.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return false;
}

/**
 * Replaces Fastify's JSON parser with the same parser (prototype-poisoning checks included) behind a
 * depth check: a body nested past MAX_JSON_DEPTH is a 400 before anything builds objects from it.
 */
export function installJsonParser(fastify: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request: FastifyRequest, body: string | Buffer, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (nestsDeeperThan(text, maxDepth)) {
      done(
        AppException.validation([{ field: 'body', message: `nests arrays or objects deeper than ${maxDepth} levels` }], 'The request body is nested too deeply'),
        undefined,
      );
      return;
    }
    parse(request, text, done);
  });
}
