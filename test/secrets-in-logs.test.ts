// Operators ship logs to places many people can read: no password may ever appear in them,
// including in the warnings written while PostgreSQL or Redis is away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { createTestDatabase, PG, type TestDatabase } from './support/postgres.ts';
import { sign } from 'hono/jwt';
import { patchJson, postJson, REDIS_PORT, startData, startUser, waitFor } from './support/services.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const PG_SECRET = 'pg-secret-4711';
const URL_SECRET = 'url-secret-0815';
const REDIS_SECRET = 'redis-secret-2342';
const JWT_SECRET = 'jwt-secret-0042-jwt-secret-0042-jwt-secret';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('secrets');
  await migrate(db.sql, createLogger('test', 'silent'));
});
afterAll(() => db?.drop());

describe('secrets never reach a log line', () => {
  it('through a normal flow, a PostgreSQL outage and a Redis that rejects the password', async () => {
    const pgProxy = await new TcpProxy(PG.port, PG.host).start();
    // The test server trusts local connections, so the passwords are sent and ignored; Redis has
    // no password set, so it rejects AUTH and the services run without it.
    const user = await startUser(db.name, {
      DATABASE_URL: `postgres://${PG.user}:${URL_SECRET}@127.0.0.1:${pgProxy.port}/${db.name}`,
      REDIS_PASSWORD: REDIS_SECRET,
      PG_QUERY_TIMEOUT_MS: 1_000,
    });
    const data = await startData(db.name, { PGPORT: pgProxy.port, PGPASSWORD: PG_SECRET, REDIS_PORT, REDIS_PASSWORD: REDIS_SECRET });
    try {
      await user.migrated;
      await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200);
      expect((await postJson(`${user.url}/register`, { name: 'Amit', info: 'x' })).status).toBe(201);
      expect((await patchJson(`${user.url}/user/Amit`, { info: 'y' })).status).toBe(200);
      expect((await fetch(`${data.url}/user/Amit`)).status).toBe(200);

      await pgProxy.cut();
      expect((await postJson(`${user.url}/register`, { name: 'Priya', info: 'x' })).status).toBe(503);
      expect((await fetch(`${data.url}/user/Priya`)).status).toBe(503);
      await pgProxy.restore();
      await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200, 10_000);

      const lines = [...user.logs.raw, ...data.logs.raw];
      expect(lines.some((line) => line.includes('"level":"warn"'))).toBe(true); // the outage was logged
      for (const secret of [PG_SECRET, URL_SECRET, REDIS_SECRET]) {
        expect(lines.filter((line) => line.includes(secret))).toEqual([]);
      }
    } finally {
      await Promise.all([user.stop(), data.stop()]);
      await pgProxy.close();
    }
  });

  it('no token and no signing secret, whatever the token and whatever the log level', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { scope: 'users:write users:read', iat: now, exp: now + 300 };
    const valid = await sign(claims, JWT_SECRET, 'HS256');
    const expired = await sign({ ...claims, exp: now - 3_600 }, JWT_SECRET, 'HS256');
    const forged = await sign(claims, 'another-secret-of-at-least-32-bytes!', 'HS256');
    const readOnly = await sign({ ...claims, scope: 'users:read' }, JWT_SECRET, 'HS256');
    const garbage = 'garbage-token-with-no-dots-0123456789';
    const tokens = [valid, expired, forged, readOnly, garbage];

    const user = await startUser(db.name, { JWT_SECRET, LOG_LEVEL: 'debug', MIGRATE_ON_START: 'false' });
    const data = await startData(db.name, { JWT_SECRET, AUTH_READS: 'token', LOG_LEVEL: 'debug' });
    try {
      await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200);
      for (const token of tokens) {
        const authorization = `Bearer ${token}`;
        const json = { 'content-type': 'application/json', authorization };
        await fetch(`${user.url}/register`, { method: 'POST', headers: json, body: JSON.stringify({ name: `t-${token.length}`, info: 'x' }) });
        await fetch(`${user.url}/user/t-${token.length}`, { method: 'PATCH', headers: json, body: '{"info":"y"}' });
        await fetch(`${user.url}/user/t-${token.length}`, { method: 'DELETE', headers: { authorization } });
        await fetch(`${data.url}/user/Amit`, { headers: { authorization } });
        await fetch(`${data.url}/users?limit=1`, { headers: { authorization } });
      }
      const lines = [...user.logs.raw, ...data.logs.raw];
      expect(lines.filter((line) => line.includes('"msg":"request refused"')).length).toBeGreaterThanOrEqual(12);
      for (const secret of [JWT_SECRET, ...tokens, ...tokens.map((token) => token.split('.').at(-1)!)]) {
        expect(lines.filter((line) => line.includes(secret))).toEqual([]);
      }
    } finally {
      await Promise.all([user.stop(), data.stop()]);
    }
  });
});
