import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { type Sql, withTimeout } from '../storage/index.ts';
import type { AppEnv } from '../http/index.ts';
import { NoQuery, problemResponse } from '../api/index.ts';
import { version } from '../config/index.ts';

export type CheckState = 'up' | 'down' | 'missing';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, CheckState | string>;
}

/** Shared between the shutdown sequence (which flips it) and the readiness probe (which reads it). */
export interface Lifecycle {
  shuttingDown: boolean;
}

const READINESS_TIMEOUT_MS = 2_000;

/**
 * Liveness says only that the process serves requests: restarting a pod because PostgreSQL is
 * down would not bring PostgreSQL back. Readiness asks the dependencies and fails first on shutdown.
 */
export function mountHealth(app: OpenAPIHono<AppEnv>, lifecycle: Lifecycle, readiness: () => Promise<ReadinessReport>): void {
  app.openapi(liveness, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(readinessRoute, async (c) => {
    if (lifecycle.shuttingDown) return c.json({ status: 'shutting down' as const, checks: {} }, 503);
    const report = await withTimeout(readiness(), READINESS_TIMEOUT_MS).catch(
      (): ReadinessReport => ({ ready: false, checks: { readiness: 'timed out' } }),
    );
    return report.ready
      ? c.json({ status: 'ready' as const, checks: report.checks }, 200)
      : c.json({ status: 'not ready' as const, checks: report.checks }, 503);
  });
}

/** GET /: which service and version answers. */
export function mountServiceInfo(app: OpenAPIHono<AppEnv>, service: string): void {
  app.openapi(serviceInfo, (c) => c.json({ service, version }, 200));
}

const badQuery = problemResponse('A query parameter (this operation takes none)');

const liveness = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'getLiveness',
  tags: ['operations'],
  summary: 'Liveness: the process serves requests',
  request: { query: NoQuery },
  responses: {
    200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } },
    400: badQuery,
  },
});

const Readiness = z
  .object({
    status: z.enum(['ready', 'not ready', 'shutting down']),
    checks: z.record(z.string(), z.string()).openapi({
      description: 'Each dependency\'s state, e.g. `postgres: up`, `redis: down` (reported, never required)',
    }),
  })
  .openapi('Readiness');

const readinessRoute = createRoute({
  method: 'get',
  path: '/health/ready',
  operationId: 'getReadiness',
  tags: ['operations'],
  summary: 'Readiness: PostgreSQL answers and the schema is there; fails first on shutdown',
  request: { query: NoQuery },
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: Readiness } } },
    400: badQuery,
    503: { description: 'Not ready, or shutting down', content: { 'application/json': { schema: Readiness } } },
  },
});

const serviceInfo = createRoute({
  method: 'get',
  path: '/',
  operationId: 'getServiceInfo',
  tags: ['operations'],
  summary: 'The service\'s name and version',
  request: { query: NoQuery },
  responses: {
    200: {
      description: 'Name and version',
      content: { 'application/json': { schema: z.object({ service: z.string(), version: z.string() }).openapi('ServiceInfo') } },
    },
    400: badQuery,
  },
});

/**
 * PostgreSQL's part of readiness: it answers, and the schema is there. The schema check runs
 * until it first passes; after that a plain `select 1` keeps telling whether PostgreSQL answers.
 */
export function postgresReadiness(sql: Sql, schemaPresent: () => Promise<boolean>) {
  let schemaReady = false;
  return async (): Promise<{ ready: boolean; checks: { postgres: CheckState; schema: CheckState | 'unknown' } }> => {
    try {
      if (schemaReady) await sql`select 1`;
      else schemaReady = await schemaPresent();
      return { ready: schemaReady, checks: { postgres: 'up', schema: schemaReady ? 'up' : 'missing' } };
    } catch {
      return { ready: false, checks: { postgres: 'down', schema: schemaReady ? 'up' : 'unknown' } };
    }
  };
}
