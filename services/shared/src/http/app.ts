import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { accessLog, type Logger, type Metrics, type Tracing } from '../observability/index.ts';
import { bodyLimit } from './body-limit.ts';
import { noRouteProblem, problemForError } from './errors.ts';
import { problem } from './problem.ts';
import { requestIds } from './request-id.ts';
import { utf8JsonBodies } from './utf8-body.ts';
import { validationProblem } from './validation-problem.ts';


export type AppEnv = { Variables: { requestId: string } };

export interface ServiceAppOptions {
  logger: Logger;
  metrics: Metrics;
  tracing?: Tracing | undefined;
  /** false when METRICS_PORT serves /metrics apart from the API (lifecycle/server.ts). */
  metricsOnApiPort?: boolean;
}

/**
 * The Hono app both services start from: request ids, access logs, request metrics, body limits,
 * and one error path that turns everything into problem+json without leaking internals.
 */
export function createServiceApp({ logger, metrics, tracing, metricsOnApiPort = true }: ServiceAppOptions): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => (result.success ? undefined : problem(c, validationProblem(result))),
  });

  app.use(requestIds());
  app.use(accessLog(logger, metrics, tracing));
  app.use(noStoreForWritesAndErrors());
  app.use(bodyLimit());
  app.use(utf8JsonBodies());

  if (metricsOnApiPort) {
    app.get('/metrics', async (c) => {
      return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
    });
  }

  app.notFound(noRouteProblem(app));
  // A request's own logger only when something goes wrong: a child per request cost every request.
  app.onError((error, c) => problem(c, problemForError(error, logger.child({ requestId: c.get('requestId') }))));
  return app;
}

/** Writes and errors are never cached by an intermediary; no answer is content-sniffed. */
function noStoreForWritesAndErrors(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    c.header('x-content-type-options', 'nosniff');
    if (c.res.status >= 400 || (c.req.method !== 'GET' && c.req.method !== 'HEAD')) c.header('cache-control', 'no-store');
  };
}
