import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Sql } from './db.ts';
import type { AppEnv } from './http.ts';
import { withTimeout } from './time.ts';

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
  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/health/ready', async (c) => {
    if (lifecycle.shuttingDown) return c.json({ status: 'shutting down', checks: {} }, 503);
    const report = await withTimeout(readiness(), READINESS_TIMEOUT_MS).catch(
      (): ReadinessReport => ({ ready: false, checks: { readiness: 'timed out' } }),
    );
    return c.json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks }, report.ready ? 200 : 503);
  });
}

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
