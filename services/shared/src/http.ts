import type { HttpBindings } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable } from './db.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { problem, ProblemError, type Problem } from './problem.ts';
import type { Tracing } from './tracing.ts';
import { validationProblem } from './validation-problem.ts';

export type AppEnv = { Variables: { requestId: string } };

export const MAX_BODY_BYTES = 64 * 1024;

/** Seconds a client should wait before retrying while PostgreSQL is away. */
export const RETRY_AFTER_SECONDS = 2;

export interface ServiceAppOptions {
  logger: Logger;
  metrics: Metrics;
  tracing?: Tracing | undefined;
  /** false when METRICS_PORT serves /metrics apart from the API (server.ts). */
  metricsOnApiPort?: boolean;
}

/** Answers no intermediary may cache or reinterpret: writes and errors. */
export const NO_STORE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/**
 * The Hono app both services start from: request ids, access logs, request metrics, body limits,
 * and one error path that turns everything into problem+json without leaking internals.
 */
export function createServiceApp({ logger, metrics, tracing, metricsOnApiPort = true }: ServiceAppOptions): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => (result.success ? undefined : problem(c, validationProblem(result))),
  });

  const record = requestRecorder(logger, metrics, tracing);
  app.use(requestId({ limitLength: REQUEST_ID_MAX }));
  app.use(async (c, next) => {
    const started = performance.now();
    const id = c.get('requestId');
    await next();
    const seconds = (performance.now() - started) / 1000;
    record({ requestId: id, method: c.req.method, path: c.req.path, route: routeLabel(c), status: c.res.status, seconds });
  });
  app.use(async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    if (c.res.status >= 400 || !isRead(c.req.method)) c.header('cache-control', 'no-store');
  });
  const tooLarge = (c: Context) => problem(c, { status: 413, detail: `request body is larger than ${MAX_BODY_BYTES} bytes` });
  const countBody = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  app.use(async (c, next) => {
    // No route reads a GET or HEAD body.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    // A declared length is checked on node's own request: hono/body-limit asks the web Request
    // for its body, which builds a Request and a web stream per write (a fifth of a register's
    // CPU), and then the handler's JSON could no longer be read straight from the socket. Node
    // has already rejected a malformed Content-Length. Chunked bodies are counted as they stream.
    const headers = (c.env as Partial<HttpBindings> | undefined)?.incoming?.headers;
    const declared = headers?.['content-length'];
    if (declared !== undefined && headers!['transfer-encoding'] === undefined) {
      return Number(declared) > MAX_BODY_BYTES ? tooLarge(c) : next();
    }
    return countBody(c, next);
  });
  app.use(async (c, next) => {
    // JSON is UTF-8 (RFC 8259). The web Request would decode invalid bytes to U+FFFD, and the
    // stored name or info would differ from what was sent without anyone noticing.
    if (isRead(c.req.method) || !/^application\/([\w.+-]+\+)?json\b/i.test(c.req.header('content-type') ?? '')) return next();
    if (!isUtf8(await c.req.arrayBuffer())) {
      return problem(c, { status: 400, title: 'Invalid request', detail: 'the request body is not valid UTF-8', errors: [{ in: 'body', message: 'is not valid UTF-8' }] });
    }
    return next();
  });

  if (metricsOnApiPort) {
    app.get('/metrics', async (c) => {
      return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
    });
  }

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return problem(c, { status: 405, detail: `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`, headers: { allow: allowed.join(', ') } });
    }
    return problem(c, { status: 404, detail: `no route for ${c.req.method} ${c.req.path}` });
  });
  // A request's own logger only when something goes wrong: a child per request cost every request.
  app.onError((error, c) => problem(c, problemForError(error, logger.child({ requestId: c.get('requestId') }))));
  return app;
}

const isRead = (method: string) => method === 'GET' || method === 'HEAD';

/** Methods of the app's routes that match this path (405 with Allow, instead of 404, when some do). */
function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL' || !routePattern(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort();
}

const patterns = new Map<string, RegExp>();

/** Hono's `/user/:name` as a regular expression (the services use plain segments and parameters only). */
function routePattern(path: string): RegExp {
  let pattern = patterns.get(path);
  if (!pattern) {
    const source = path
      .split('/')
      .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    pattern = new RegExp(`^${source}/?$`);
    patterns.set(path, pattern);
  }
  return pattern;
}

const REQUEST_ID_MAX = 255;
const REQUEST_ID_PATTERN = /^[\w\-=]+$/;

/** hono/request-id's rule, for code that answers before the app: keep a sane caller id, else make one. */
export function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === 'string' && given.length <= REQUEST_ID_MAX && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}

export interface RequestRecord {
  requestId: string;
  method: string;
  path: string;
  route: string;
  status: number;
  seconds: number;
}

/** Requests slower than this get an access line at info. */
export const SLOW_REQUEST_SECONDS = 1;

/**
 * The access log line and the request metric, the same for the app and for the read lane. Every
 * request is counted and timed in the metric. Its line is at info when it wrote (any method but
 * GET and HEAD), failed on the server (5xx) or was slow; probes, scrapes and reads that went
 * fine are at debug: a
 * line per read at info was a third of a cache hit's CPU and, at tens of thousands of reads a
 * second, a flood no log pipeline wants (rates, statuses and latencies are the metric's job).
 * LOG_LEVEL=debug shows every request. With tracing, the request's span is named after its route.
 */
export function requestRecorder(logger: Logger, metrics: Metrics, tracing?: Tracing) {
  return ({ requestId, method, path, route, status, seconds }: RequestRecord): void => {
    tracing?.nameRequest(method, route);
    metrics.httpDuration.observe({ http_request_method: method, http_route: route, http_response_status_code: status }, seconds);
    const read = method === 'GET' || method === 'HEAD';
    // Probes and scrapes come every few seconds; a readiness 503 during an outage is the probe
    // doing its job, and one line per probe would drown the useful ones.
    const probe = route.startsWith('/health') || route === '/metrics';
    const level = !probe && (!read || status >= 500 || seconds >= SLOW_REQUEST_SECONDS) ? 'info' : 'debug';
    if (!logger.isLevelEnabled(level)) return;
    logger[level]({ requestId, method, path, route, status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
  };
}

/**
 * What a failed request answers: its own problem for a ProblemError or HTTPException, 503 with
 * Retry-After while PostgreSQL is away, else a 500 that reveals nothing (the error is logged).
 */
export function problemForError(error: unknown, log: Logger): Problem {
  if (error instanceof ProblemError) return error.problem;
  // The validator's 415 says only "Unsupported Media Type", which the title already says.
  if (error instanceof HTTPException && error.status === 415) return { status: 415, detail: 'the body must be JSON, sent with Content-Type: application/json' };
  if (error instanceof HTTPException) return { status: error.status as ContentfulStatusCode, detail: error.message || undefined };
  if (isDatabaseUnavailable(error)) {
    log.warn({ err: error }, 'database unavailable');
    return {
      status: 503,
      detail: 'the database is unavailable; retry shortly',
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    };
  }
  log.error({ err: error }, 'unhandled error');
  return { status: 500, detail: 'an internal error occurred' };
}

/** The route template (`/user/:name`), never the raw path, so metric labels stay bounded. */
function routeLabel(c: Context): string {
  const handlers = matchedRoutes(c).filter((route) => route.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}
