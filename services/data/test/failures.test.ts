// Redis and PostgreSQL taken away and given back through a TCP proxy, with the real servers
// behind it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../user/src/migrate.ts';
import { createLogger } from '../../shared/src/observability/index.ts';
import { createTestDatabase, PG, type TestDatabase } from '../../../test/support/postgres.ts';
import { REDIS_PORT, startData, waitFor } from '../../../test/support/services.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';

let db: TestDatabase;
let proxy: TcpProxy;
let service: Awaited<ReturnType<typeof startData>> | undefined;

beforeAll(async () => {
  db = await createTestDatabase('data_failures');
  await migrate(db.sql, createLogger('test', 'silent'));
  await db.sql`insert into users (name, info) values ('Amit', 'a'), ('Priya', 'p'), ('Rahul', 'r')`;
});

afterEach(async () => {
  await service?.stop();
  service = undefined;
  await proxy?.close();
});

afterAll(async () => {
  await db?.drop();
});

const get = async (name: string) => {
  const res = await fetch(`${service!.url}/user/${name}`);
  return { status: res.status, headers: res.headers, body: await res.json() as any };
};
const readiness = async () => {
  const res = await fetch(`${service!.url}/health/ready`);
  return { status: res.status, body: await res.json() as any };
};
const metric = async (name: string) => {
  const text = await (await fetch(`${service!.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

async function startBehind(target: 'redis' | 'postgres', overrides: Record<string, string | number> = {}) {
  proxy = await new TcpProxy(target === 'redis' ? REDIS_PORT : PG.port).start();
  service = await startData(db.name, {
    LOCAL_CACHE_TTL_MS: 0, // the Redis tier alone, so what Redis holds is what is served
    ...(target === 'redis' ? { REDIS_PORT: proxy.port } : { PGPORT: proxy.port }),
    ...overrides,
  });
  await waitFor(async () => (await readiness()).status === 200);
}

async function cachedInRedis(name: string) {
  await waitFor(async () => (await get(name)).body.cached === true, 3_000);
}

describe('Redis down and back', () => {
  it('answers from PostgreSQL without waiting on Redis each time, stays ready, and uses Redis again', async () => {
    await startBehind('redis');
    await cachedInRedis('Amit');

    await proxy.cut();
    for (let i = 0; i < 20; i++) {
      const res = await get(i % 2 ? 'Amit' : 'Priya');
      expect(res.status).toBe(200);
      expect(res.body.cached).toBe(false);
      expect(res.headers.get('x-cache')).toBe('MISS');
    }
    // A disconnected client is skipped, not tried: at most the one command that met the cut fails.
    expect(await metric('cache_errors_total')).toBeLessThanOrEqual(1);
    const ready = await readiness();
    expect(ready.status).toBe(200);
    expect(ready.body.checks.redis).toBe('down');
    expect(await metric('cache_redis_state{state="down"')).toBe(1);
    expect(await metric('cache_redis_state{state="up"')).toBe(0);

    await proxy.restore();
    await cachedInRedis('Priya');
    expect((await readiness()).body.checks.redis).toBe('up');
    expect(await metric('cache_redis_state{state="up"')).toBe(1);
  });

  it('a hung Redis costs one command timeout, then a back-off, not a timeout per request', async () => {
    await startBehind('redis', { REDIS_COMMAND_TIMEOUT_MS: 100 });
    await cachedInRedis('Amit');

    proxy.stall();
    for (let i = 0; i < 20; i++) {
      const res = await get('Amit');
      expect(res.status).toBe(200);
      expect(res.body.cached).toBe(false);
    }
    expect(await metric('cache_errors_total')).toBeGreaterThanOrEqual(1);
    expect(await metric('cache_errors_total')).toBeLessThanOrEqual(3);

    await proxy.restore();
    await cachedInRedis('Amit');
  });

  it('an eviction missed while Redis was away is made good before Redis is read again', async () => {
    await startBehind('redis');
    await cachedInRedis('Rahul');

    await proxy.cut();
    await db.sql`update users set info = 'changed while redis was away' where name = 'Rahul'`;
    await waitFor(async () => (await get('Rahul')).body.info === 'changed while redis was away');

    await proxy.restore();
    // Redis still holds the old row under its TTL; the service must never serve it.
    const deadline = Date.now() + 1_500;
    let servedFromRedis = false;
    while (Date.now() < deadline) {
      const res = await get('Rahul');
      expect(res.body.info).toBe('changed while redis was away');
      servedFromRedis ||= res.body.cached;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(servedFromRedis).toBe(true);
  });
});

describe('PostgreSQL down and back', () => {
  it('answers 503 with Retry-After, fails readiness, and recovers by itself', async () => {
    await startBehind('postgres');
    await cachedInRedis('Amit');

    await proxy.cut();
    const res = await get('Priya');
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const ready = await readiness();
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ postgres: 'down', listener: 'down' });
    expect(await metric('cache_invalidation_listener_up')).toBe(0);
    expect((await fetch(`${service!.url}/health`)).status).toBe(200);

    await proxy.restore();
    await waitFor(async () => (await readiness()).status === 200, 10_000);
    expect(await metric('cache_invalidation_listener_up')).toBe(1);
    expect((await get('Priya')).status).toBe(200);
  });

  it('serves no cache while it cannot hear changes, and forgets what it may have missed', async () => {
    await startBehind('postgres');
    await cachedInRedis('Priya');

    // The service's connections (pool and LISTEN) are cut; a write still happens behind its back.
    await proxy.cut();
    await db.sql`update users set info = 'changed while deaf' where name = 'Priya'`;
    const during = await get('Priya');
    expect(during.status).toBe(503); // not the cached, now stale, row
    expect((await readiness()).body.checks.listener).toBe('down');

    await proxy.restore();
    await waitFor(async () => (await readiness()).status === 200, 10_000);
    expect((await get('Priya')).body.info).toBe('changed while deaf');
    await waitFor(async () => (await get('Priya')).body.cached === true);
    expect((await get('Priya')).body.info).toBe('changed while deaf');
  });

  it('re-establishes LISTEN when its backend is terminated, and evicts again afterwards', async () => {
    await startBehind('postgres');
    await cachedInRedis('Amit');
    const terminated = await db.sql`
      select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'data-service-listener' and datname = ${db.name}`;
    expect(terminated).toHaveLength(1);
    await waitFor(async () => {
      const rows = await db.sql`select 1 from pg_stat_activity where application_name = 'data-service-listener' and datname = ${db.name}`;
      return rows.length === 1 && (await readiness()).status === 200;
    }, 10_000);

    await cachedInRedis('Amit');
    await db.sql`update users set info = 'after reconnect' where name = 'Amit'`;
    await waitFor(async () => (await get('Amit')).body.info === 'after reconnect', 1_000);
  });
});
