import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../shared/src/auth/index.ts';
import { createLogger, createMetrics } from '../../shared/src/observability/index.ts';
import { createUserApp } from '../src/app.ts';
import type { UserStore } from '../src/users.ts';
import { createTestDatabase, type TestDatabase, PG } from '../../../test/support/postgres.ts';
import { authHeader, deleteUser, LogCapture, postJson, startUser, TEST_JWT_SECRET } from '../../../test/support/services.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('user_ops');
});
afterAll(async () => {
  await db?.drop();
});

describe('status, health, metrics and API description', () => {
  let service: Awaited<ReturnType<typeof startUser>>;
  beforeAll(async () => {
    service = await startUser(db.name);
    await service.migrated;
  });
  afterAll(() => service?.stop());

  it('GET / names the service and its version', async () => {
    expect(await (await fetch(`${service.url}/`)).json() as any).toEqual({ service: 'user-service', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('is live and ready once migrated', async () => {
    expect((await fetch(`${service.url}/health`)).status).toBe(200);
    const ready = await fetch(`${service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json() as any).toMatchObject({ status: 'ready', checks: { postgres: 'up', schema: 'up' } });
  });

  it('exposes request durations by route template and status in Prometheus format', async () => {
    await postJson(`${service.url}/register`, { name: 'metric-user', info: '' });
    await deleteUser(`${service.url}/user/${encodeURIComponent('no such one')}`);
    const res = await fetch(`${service.url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/http_server_request_duration_seconds_count\{[^}]*http_request_method="POST",http_route="\/register",http_response_status_code="201"[^}]*\} 1/);
    expect(text).toMatch(/http_server_request_duration_seconds_count\{[^}]*http_route="\/user\/:name",http_response_status_code="404"/);
    expect(text).toContain('db_pool_max_connections');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('describes its API in OpenAPI, from the schemas that validate requests', async () => {
    const doc = await (await fetch(`${service.url}/openapi.json`)).json() as any;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/', '/health', '/health/ready', '/register', '/user/{name}']);
    expect(doc.components.schemas.RegisterUser.properties.name.maxLength).toBe(100);
    expect(doc.components.schemas.RegisterUser.additionalProperties).toBe(false);
  });

  it('answers unknown routes with a problem+json 404', async () => {
    const res = await fetch(`${service.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });

  it('honours X-Request-Id and logs it with the request, without bodies or secrets', async () => {
    const res = await postJson(`${service.url}/register`, { name: 'traced', info: 'secret-info-text' }, { headers: { 'content-type': 'application/json', 'x-request-id': 'req-12345', ...(await authHeader()) } });
    expect(res.headers.get('x-request-id')).toBe('req-12345');
    const line = service.logs.lines.find((l) => l.requestId === 'req-12345');
    expect(line).toMatchObject({ level: 'info', service: 'user-service', method: 'POST', route: '/register', status: 201 });
    expect(service.logs.raw.join('\n')).not.toContain('secret-info-text');
  });

  it('generates a request id when none is given', async () => {
    const res = await fetch(`${service.url}/`);
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('errors', () => {
  it('an unexpected failure answers 500 problem+json without the internal message, and logs it', async () => {
    const logs = new LogCapture();
    const failing: UserStore = {
      create: async () => {
        throw new Error('relation "secret_internal_table" is broken at /srv/app.js:12');
      },
      updateInfo: async () => undefined,
      remove: async () => false,
    };
    const logger = createLogger('user-service', 'info', logs);
    const auth = createAuth({
      config: { AUTH: 'enabled', AUTH_READS: 'public', JWT_SECRET: TEST_JWT_SECRET, JWKS_CACHE_SECONDS: 600, JWKS_COOLDOWN_SECONDS: 10 },
      logger,
      realm: 'user-service',
    });
    const app = createUserApp({
      users: failing,
      logger,
      metrics: createMetrics('user-service'),
      lifecycle: { shuttingDown: false },
      readiness: async () => ({ ready: true, checks: {} }),
      auth,
    });
    const res = await app.request('/register', { method: 'POST', headers: { 'content-type': 'application/json', ...(await authHeader()) }, body: '{"name":"x"}' });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const text = await res.text();
    expect(text).not.toContain('secret_internal_table');
    expect(text).not.toContain('/srv/app.js');
    const line = logs.lines.find((l) => l.msg === 'unhandled error') as any;
    expect(line).toMatchObject({ level: 'error', err: { type: 'Error', message: expect.stringContaining('secret_internal_table') } });
    expect(line.err.stack).toContain('operations.test.ts');
  });
});

describe('PostgreSQL unreachable and back', () => {
  it('answers 503 with Retry-After and fails readiness, then recovers by itself', async () => {
    const proxy = await new TcpProxy(PG.port, PG.host).start();
    // A short query timeout: a query written just as the connection is reset may never be answered.
    const service = await startUser(db.name, { PGPORT: proxy.port, PG_QUERY_TIMEOUT_MS: 1_000 });
    try {
      await service.migrated;
      expect((await postJson(`${service.url}/register`, { name: 'before-outage', info: '' })).status).toBe(201);
      expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);

      await proxy.cut();
      const res = await postJson(`${service.url}/register`, { name: 'during-outage', info: '' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect((await res.json() as any).detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
      // The warning says what failed, as an error: its type, message and stack, not a bare object.
      const warning = service.logs.lines.find((l) => l.msg === 'database unavailable') as any;
      expect(warning.err.type).not.toBe('Object');
      expect(warning.err).toMatchObject({ type: expect.stringMatching(/Error$/), message: expect.any(String), stack: expect.stringMatching(/\S/) });
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect((await ready.json() as any).checks.postgres).toBe('down');
      expect((await fetch(`${service.url}/health`)).status).toBe(200);

      await proxy.restore();
      await expect.poll(async () => (await fetch(`${service.url}/health/ready`)).status, { timeout: 10_000 }).toBe(200);
      expect((await postJson(`${service.url}/register`, { name: 'after-outage', info: '' })).status).toBe(201);
      expect(await db.sql`select name from users where name like '%outage' order by name`).toEqual([{ name: 'after-outage' }, { name: 'before-outage' }]);
    } finally {
      await service.stop();
      await proxy.close();
    }
  });

  it('starts before PostgreSQL is reachable, stays live and unready, and migrates once it is', async () => {
    const fresh = await createTestDatabase('late_pg');
    const proxy = await new TcpProxy(PG.port, PG.host).start();
    await proxy.cut();
    const service = await startUser(fresh.name, { PGPORT: proxy.port });
    try {
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
      expect((await fetch(`${service.url}/health/ready`)).status).toBe(503);
      await proxy.restore();
      await service.migrated;
      await expect.poll(async () => (await fetch(`${service.url}/health/ready`)).status, { timeout: 10_000 }).toBe(200);
    } finally {
      await service.stop();
      await proxy.close();
      await fresh.drop();
    }
  });

  it('a query slower than PG_QUERY_TIMEOUT_MS answers 503, and PostgreSQL cancels it too', async () => {
    const service = await startUser(db.name, { PG_QUERY_TIMEOUT_MS: 300 });
    const tx = await db.sql.reserve();
    try {
      await service.migrated;
      await tx`begin`;
      await tx`lock table users in access exclusive mode`;
      const res = await postJson(`${service.url}/register`, { name: 'blocked', info: '' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      // statement_timeout ends the server side as well: nothing of the service still waits.
      await expect
        .poll(async () => (await db.sql`select count(*)::int as n from pg_stat_activity where application_name = 'user-service' and wait_event_type = 'Lock'`)[0]!.n, { timeout: 2_000 })
        .toBe(0);
      await tx`rollback`;
      expect(await db.sql`select 1 from users where name = 'blocked'`).toHaveLength(0);
    } finally {
      await tx`rollback`.catch(() => {});
      tx.release();
      await service.stop();
    }
  });
});
