import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Env } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { isDatabaseUnavailable } from '../storage/index.ts';
import type { Logger } from '../observability/index.ts';
import { problem, ProblemError, type Problem } from './problem.ts';

/** Seconds a client should wait before retrying while PostgreSQL is away. */
export const RETRY_AFTER_SECONDS = 2;

/** Answers no intermediary may cache or reinterpret: writes and errors. */
export const NO_STORE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

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

/** The app's answer when no route matched: 405 with Allow when another method has this path, else 404. */
export function noRouteProblem<E extends Env>(app: OpenAPIHono<E>) {
  return (c: Context<E>) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return problem(c, { status: 405, detail: `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}`, headers: { allow: allowed.join(', ') } });
    }
    return problem(c, { status: 404, detail: `no route for ${c.req.method} ${c.req.path}` });
  };
}

/** Methods of the app's routes that match this path. */
function allowedMethods<E extends Env>(app: OpenAPIHono<E>, path: string): string[] {
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
