// Operators ship logs to places many people can read: no password may ever appear in them,
// including in the warnings written while PostgreSQL or Redis is away.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../services/shared/src/logger.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { createTestDatabase, PG, type TestDatabase } from './support/postgres.ts';
import { patchJson, postJson, REDIS_PORT, startData, startUser, waitFor } from './support/services.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const PG_SECRET = 'pg-secret-4711';
const URL_SECRET = 'url-secret-0815';
const REDIS_SECRET = 'redis-secret-2342';

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
});
