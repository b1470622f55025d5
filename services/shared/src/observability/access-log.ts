import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Tracing } from './tracing-interface.ts';

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
 * fine are at debug: a line per read at info costs a cache hit a large share of its CPU and, at
 * the read rates this service is built for, is a flood no log pipeline wants (rates, statuses
 * and latencies are the metric's job). LOG_LEVEL=debug shows every request. With tracing, the
 * request's span is named after its route.
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

/** The app's middleware: times each request and hands it to requestRecorder once answered. */
export function accessLog(logger: Logger, metrics: Metrics, tracing?: Tracing): MiddlewareHandler<{ Variables: { requestId: string } }> {
  const record = requestRecorder(logger, metrics, tracing);
  return async (c, next) => {
    const started = performance.now();
    const id = c.get('requestId');
    await next();
    const seconds = (performance.now() - started) / 1000;
    record({ requestId: id, method: c.req.method, path: c.req.path, route: routeLabel(c), status: c.res.status, seconds });
  };
}

/** The route template (`/user/:name`), never the raw path, so metric labels stay bounded. */
function routeLabel(c: Context): string {
  const handlers = matchedRoutes(c).filter((route) => route.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}
