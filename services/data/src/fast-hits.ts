import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestIdFrom, requestRecorder } from '../../shared/src/http.ts';
import type { Logger } from '../../shared/src/logger.ts';
import type { Metrics } from '../../shared/src/metrics.ts';
import type { UserLookup } from './user-lookup.ts';

/**
 * GET /user/:name answered straight from the in-process tier, before the Hono app: on a cache
 * hit the framework's request and response emulation, routing and validation were four fifths
 * of the CPU (profile under load), and a hit is the request this service exists for. Everything
 * a client or operator sees is the same as the app's answer: body, X-Cache, X-Request-Id, the
 * access log line and the request metric. Anything else (a miss, a 404, a name that needs
 * decoding) returns false and goes to the app.
 */
export function createFastHits({ lookup, logger, metrics }: { lookup: UserLookup; logger: Logger; metrics: Metrics }) {
  const record = requestRecorder(logger, metrics);
  return function answerFromLocalTier(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const started = performance.now();
    // Names that need no percent-decoding, normalizing or trimming: for them the UserName rules
    // reduce to this pattern's length bound. A query string sends the request to the app.
    const name = PLAIN_USER_PATH.exec(req.url ?? '')?.[1];
    if (name === undefined) return false;
    const user = lookup.peekLocal(name);
    if (!user) return false;

    const requestId = requestIdFrom(req.headers['x-request-id']);
    const body = JSON.stringify({ ...user, cached: true });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': requestId,
      'x-cache': 'HIT',
    });
    res.end(body);

    record({ requestId, method: 'GET', path: req.url!, route: ROUTE, status: 200, seconds: (performance.now() - started) / 1000 });
    return true;
  };
}

const ROUTE = '/user/:name';
const PLAIN_USER_PATH = /^\/user\/([A-Za-z0-9._~-]{1,100})$/;
