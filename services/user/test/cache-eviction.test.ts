import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userCacheKeys } from '../../shared/src/redis.ts';
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
  it('evicts a written name from Redis even when no data-service is running', async () => {
    const service = await startUser(db.name);
    const keys = userCacheKeys(`test:${db.name}:`);
    try {
      await service.migrated;
      await postJson(`${service.url}/register`, { name: 'Amit', info: 'v1' });
      // A cached copy a data-service filled before it went away.
      await redis.set(keys.value('Amit'), JSON.stringify({ name: 'Amit', info: 'v1' }));
      const generationBefore = Number(await redis.get(keys.generation('Amit')));

      expect((await patchJson(`${service.url}/user/Amit`, { info: 'v2' })).status).toBe(200);
      await waitFor(async () => (await redis.exists(keys.value('Amit'))) === 0, 1_000);
      expect(Number(await redis.get(keys.generation('Amit')))).toBeGreaterThan(generationBefore);

      await redis.set(keys.value('Amit'), 'stale');
      expect((await deleteUser(`${service.url}/user/Amit`)).status).toBe(204);
      await waitFor(async () => (await redis.exists(keys.value('Amit'))) === 0, 1_000);
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
      await proxy.restore();
      await waitFor(async () => (await (await fetch(`${service.url}/health/ready`)).json() as any).checks.redis === 'up', 5_000);
    } finally {
      await service.stop();
      await proxy.close();
    }
  });
});
