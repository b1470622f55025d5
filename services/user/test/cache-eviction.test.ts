import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userCacheKeys } from '../../shared/src/cache/index.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { deleteUser, patchJson, postJson, REDIS_PORT, startUser, waitFor } from '../../../test/support/services.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';

let db: TestDatabase;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDatabase('user_evict');
  redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  await redis.connect();
});
afterAll(async () => {
  redis?.disconnect();
  await db?.drop();
});

describe('eviction from the shared cache on write', () => {
  it('evicts a written name from Redis before the write answers, even when no data-service is running', async () => {
    const service = await startUser(db.name);
    const keys = userCacheKeys(`test:${db.name}:`);
    try {
      await service.migrated;
      await postJson(`${service.url}/register`, { name: 'Amit', info: 'v1' });
      // A cached copy a data-service filled before it went away.
      await redis.set(keys.value('Amit'), JSON.stringify({ name: 'Amit', info: 'v1' }));
      const generationBefore = Number(await redis.get(keys.generation('Amit')));

      expect((await patchJson(`${service.url}/user/Amit`, { info: 'v2' })).status).toBe(200);
      expect(await redis.exists(keys.value('Amit'))).toBe(0);
      expect(Number(await redis.get(keys.generation('Amit')))).toBeGreaterThan(generationBefore);

      await redis.set(keys.value('Amit'), 'stale');
      expect((await deleteUser(`${service.url}/user/Amit`)).status).toBe(204);
      expect(await redis.exists(keys.value('Amit'))).toBe(0);
    } finally {
      await service.stop();
    }
  });

  it('writes go on while Redis is down, and readiness only reports it', async () => {
    const proxy = await new TcpProxy(REDIS_PORT).start();
    const service = await startUser(db.name, { REDIS_PORT: proxy.port });
    try {
      await service.migrated;
      await waitFor(async () => (await (await fetch(`${service.url}/health/ready`)).json() as any).checks.redis === 'up');
      await proxy.cut();
      expect((await postJson(`${service.url}/register`, { name: 'Priya', info: 'x' })).status).toBe(201);
      expect((await patchJson(`${service.url}/user/Priya`, { info: 'y' })).status).toBe(200);
      const ready = await fetch(`${service.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect((await ready.json() as any).checks.redis).toBe('down');
      // Both writes' evictions were missed, and the metrics say so.
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toMatch(/^cache_evictions_failed_total\{[^}]*\} 2$/m);
      expect(metrics).toMatch(/^cache_redis_state\{state="down"[^}]*\} 1$/m);
      await proxy.restore();
      await waitFor(async () => (await (await fetch(`${service.url}/health/ready`)).json() as any).checks.redis === 'up', 5_000);
      expect(await (await fetch(`${service.url}/metrics`)).text()).toMatch(/^cache_redis_state\{state="up"[^}]*\} 1$/m);
    } finally {
      await service.stop();
      await proxy.close();
    }
  });

  it('a write whose Redis hangs still answers, once the eviction has timed out, and counts it as missed', async () => {
    const proxy = await new TcpProxy(REDIS_PORT).start();
    const service = await startUser(db.name, { REDIS_PORT: proxy.port });
    try {
      await service.migrated;
      await waitFor(async () => (await (await fetch(`${service.url}/health/ready`)).json() as any).checks.redis === 'up');
      expect((await postJson(`${service.url}/register`, { name: 'Hung', info: 'x' })).status).toBe(201);
      proxy.stall();
      expect((await patchJson(`${service.url}/user/Hung`, { info: 'y' })).status).toBe(200);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toMatch(/^cache_evictions_failed_total\{[^}]*\} 1$/m);
      await proxy.restore();
    } finally {
      await service.stop();
      await proxy.close();
    }
  });
});
