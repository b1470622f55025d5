import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit as countingBodyLimit } from 'hono/body-limit';
import { problem } from './problem.ts';

export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = (c: Context) => problem(c, { status: 413, detail: `request body is larger than ${MAX_BODY_BYTES} bytes` });

/** Refuses a request body over MAX_BODY_BYTES with 413. */
export function bodyLimit(): MiddlewareHandler {
  const countBody = countingBodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  return async (c, next) => {
    // No route reads a GET or HEAD body.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // A declared length is checked on node's own request: hono/body-limit asks the web Request
    // for its body, which builds a Request and a web stream per write (a large share of a
    // write's CPU), and then the handler's JSON could no longer be read straight from the
    // socket. Node has already rejected a malformed Content-Length. Chunked bodies are counted
    // as they stream.
    const headers = (c.env as Partial<HttpBindings> | undefined)?.incoming?.headers;
    const declared = headers?.['content-length'];
    if (declared !== undefined && headers!['transfer-encoding'] === undefined) {
      return Number(declared) > MAX_BODY_BYTES ? tooLarge(c) : next();
    }
    return countBody(c, next);
  };
}
