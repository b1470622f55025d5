import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable } from './db.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { problem, ProblemError } from './problem.ts';

export type AppEnv = { Variables: { requestId: string; log: Logger } };

export const MAX_BODY_BYTES = 64 * 1024;

/** Seconds a client should wait before retrying while PostgreSQL is away. */
export const RETRY_AFTER_SECONDS = 2;

export interface ServiceAppOptions {
  logger: Logger;
  metrics: Metrics;
}

/**
 * The Hono app both services start from: request ids, access logs, request metrics, body limits,
 * and one error path that turns everything into problem+json without leaking internals.
 */
export function createServiceApp({ logger, metrics }: ServiceAppOptions): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const errors = result.error.issues.map((issue) =>
        issue.code === 'unrecognized_keys'
          ? { field: [...issue.path, ...issue.keys].join('.'), message: 'is not a known field' }
          : { field: issue.path.join('.') || result.target, message: issue.message },
      );
      return problem(c, {
        status: 400,
        title: 'Invalid request',
        detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        errors,
      });
    },
  });

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    const log = logger.child({ requestId: c.get('requestId') });
    c.set('log', log);
    await next();
    const seconds = (performance.now() - started) / 1000;
    const route = routeLabel(c);
    metrics.httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, seconds);
    // Probes and scrapes every few seconds would drown the useful lines.
    const level = route.startsWith('/health') || route === '/metrics' ? 'debug' : 'info';
    log[level](
      { method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round(seconds * 10_000) / 10 },
      'request',
    );
  });
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => problem(c, { status: 413, detail: `request body is larger than ${MAX_BODY_BYTES} bytes` }),
  });
  // No route reads a GET or HEAD body, and asking whether one exists builds a full Request per
  // read (a sixth of a cache hit's CPU in the profile).
  app.use((c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next)));

  app.get('/metrics', async (c) => {
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  app.notFound((c) => problem(c, { status: 404, detail: `no route for ${c.req.method} ${c.req.path}` }));
  app.onError((error, c) => handleError(error, c));
  return app;
}

function handleError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof ProblemError) return problem(c, error.problem);
  if (error instanceof HTTPException) {
    return problem(c, { status: error.status as ContentfulStatusCode, detail: error.message || undefined });
  }
  const log = c.get('log');
  if (isDatabaseUnavailable(error)) {
    log.warn({ err: { code: (error as { code?: string }).code, message: error.message } }, 'database unavailable');
    return problem(c, {
      status: 503,
      detail: 'the database is unavailable; retry shortly',
      headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
    });
  }
  log.error({ err: error }, 'unhandled error');
  return problem(c, { status: 500, detail: 'an internal error occurred' });
}

/** The route template (`/user/:name`), never the raw path, so metric labels stay bounded. */
function routeLabel(c: Context): string {
  const handlers = matchedRoutes(c).filter((route) => route.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}
