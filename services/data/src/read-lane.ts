import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestRecorder, type Logger, type Metrics, type Tracing } from '../../shared/src/observability/index.ts';
import {
  NO_STORE_HEADERS,
  problemForError,
  requestIdFrom,
  PROBLEM_CONTENT_TYPE,
  problemBody,
  type Problem,
} from '../../shared/src/http/index.ts';
import type { LookupResult, UserLookup } from './user-lookup.ts';

/** A finished answer to GET /user/:name, the same whichever path produced it. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The answer to a lookup: the user with `cached`, or a 404 problem; X-Cache either way. */
export function userAnswer(name: string, { user, cached }: LookupResult, path: string, requestId: string): Answer {
  const xCache = cached ? 'HIT' : 'MISS';
  if (!user) return problemAnswer({ status: 404, detail: `no user named "${name}"`, headers: { 'x-cache': xCache } }, path, requestId);
  return { status: 200, headers: { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', 'x-cache': xCache }, body: JSON.stringify({ ...user, cached }) };
}

function problemAnswer(problem: Problem, path: string, requestId: string): Answer {
  return {
    status: problem.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...NO_STORE_HEADERS, ...problem.headers },
    body: problemBody(problem, path, requestId),
  };
}

/**
 * GET /user/:name for plain names, answered on node:http before the Hono app. This is the request
 * the service exists for, and the framework's request and response emulation, middleware and
 * validation were most of its CPU under load.
 * A client or operator cannot tell the difference: the answer comes from userAnswer, as the app
 * route's does, with the same request-id rule, access log line, metric and error handling.
 * Names that need decoding or normalizing, query strings and other methods go to the app.
 */
export function createReadLane({ lookup, logger, metrics, tracing }: { lookup: UserLookup; logger: Logger; metrics: Metrics; tracing?: Tracing | undefined }) {
  const record = requestRecorder(logger, metrics, tracing);

  return function answerUserRead(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const path = req.url ?? '';
    // For names of these characters the UserName rules reduce to this pattern's length bound.
    const name = PLAIN_USER_PATH.exec(path)?.[1];
    if (name === undefined) return false;

    const started = performance.now();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const reply = ({ status, headers, body }: Answer) => {
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
      res.end(body);
      record({ requestId, method: 'GET', path, route: ROUTE, status, seconds: (performance.now() - started) / 1000 });
    };

    // The in-process tier answers without waiting; everything else goes through the tiers.
    const local = lookup.peekLocal(name);
    if (local) {
      reply(userAnswer(name, local, path, requestId));
      return true;
    }
    lookup.get(name).then(
      (result) => reply(userAnswer(name, result, path, requestId)),
      (error: unknown) => reply(problemAnswer(problemForError(error, logger.child({ requestId })), path, requestId)),
    );
    return true;
  };
}

const ROUTE = '/user/:name';
const PLAIN_USER_PATH = /^\/user\/([A-Za-z0-9._~-]{1,100})$/;
