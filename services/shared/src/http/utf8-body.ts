import { isUtf8 } from 'node:buffer';
import type { MiddlewareHandler } from 'hono';
import { problem } from './problem.ts';

const JSON_CONTENT_TYPE = /^application\/([\w.+-]+\+)?json\b/i;

/**
 * Refuses a JSON body that is not UTF-8 with 400. JSON is UTF-8 (RFC 8259); the web Request would
 * decode invalid bytes to U+FFFD, and the stored name or info would differ from what was sent
 * without anyone noticing.
 */
export function utf8JsonBodies(): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || !JSON_CONTENT_TYPE.test(c.req.header('content-type') ?? '')) return next();
    if (!isUtf8(await c.req.arrayBuffer())) {
      return problem(c, { status: 400, title: 'Invalid request', detail: 'the request body is not valid UTF-8', errors: [{ in: 'body', message: 'is not valid UTF-8' }] });
    }
    return next();
  };
}
