import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { deleteUser, patchJson, postJson, startData, startUser, waitFor } from '../../../test/support/services.ts';

let db: TestDatabase;
let user: Awaited<ReturnType<typeof startUser>>;
// Two replicas sharing Redis, each with its own in-process tier (long TTLs: only eviction can
// make them coherent).
let replicas: Awaited<ReturnType<typeof startData>>[];

const longTtls = { LOCAL_CACHE_TTL_MS: 60_000, CACHE_TTL_SECONDS: 600, CACHE_NEGATIVE_TTL_SECONDS: 600 };

beforeAll(async () => {
  db = await createTestDatabase('data_api');
  user = await startUser(db.name);
  await user.migrated;
  replicas = await Promise.all([startData(db.name, longTtls), startData(db.name, longTtls)]);
  for (const replica of replicas) {
    await waitFor(async () => (await fetch(`${replica.url}/health/ready`)).status === 200);
  }
});

afterAll(async () => {
  await Promise.all([user?.stop(), ...(replicas ?? []).map((r) => r.stop())]);
  await db?.drop();
});

/**
 * Reads until the replica answers from cache. A register's own NOTIFY may evict the entry that
 * the first read filled, so "cached on the second read" is not guaranteed; "cached soon" is.
 */
const warm = async (base: string, name: string) => {
  await waitFor(async () => (await get(base, name)).body.cached === true, 2_000);
};

const get = async (base: string, name: string) => {
  const res = await fetch(`${base}/user/${encodeURIComponent(name)}`);
  return { status: res.status, cache: res.headers.get('x-cache'), body: await res.json() as any };
};

describe('GET /user/:name', () => {
  it('reads PostgreSQL on a miss, then answers from cache', async () => {
    await postJson(`${user.url}/register`, { name: 'Amit', info: 'Backend engineer' });
    const [a] = replicas;
    const first = await get(a!.url, 'Amit');
    expect(first).toMatchObject({ status: 200, cache: 'MISS', body: { name: 'Amit', info: 'Backend engineer', cached: false } });
    expect(Object.keys(first.body).sort()).toEqual(['cached', 'createdAt', 'info', 'name', 'updatedAt']);
    await warm(a!.url, 'Amit');
    const second = await get(a!.url, 'Amit');
    expect(second).toMatchObject({ status: 200, cache: 'HIT', body: { ...first.body, cached: true } });
  });

  it('a replica whose own tier is cold is served from Redis, filled by another replica', async () => {
    const invalidations = async (base: string) =>
      Number(/^cache_invalidations_total(?:\{[^}]*\})? (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1] ?? 0);
    const before = await Promise.all(replicas.map((replica) => invalidations(replica.url)));
    await postJson(`${user.url}/register`, { name: 'Shared', info: 's' });
    // Every replica evicts the name from Redis on the register's NOTIFY: wait for both, or one may
    // evict the entry the other just filled.
    await waitFor(async () => (await Promise.all(replicas.map((replica, i) => invalidations(replica.url).then((n) => n > before[i]!)))).every(Boolean));
    const [a, b] = replicas;
    await warm(a!.url, 'Shared');
    expect((await get(b!.url, 'Shared')).body.cached).toBe(true);
  });

  it('answers 404 for an unknown name and caches the absence', async () => {
    const [a] = replicas;
    const first = await get(a!.url, 'Ghost');
    expect(first).toMatchObject({ status: 404, cache: 'MISS', body: { status: 404 } });
    expect((await get(a!.url, 'Ghost')).cache).toBe('HIT');
  });

  it('serves a name registered after its absence was cached, on every replica, at once', async () => {
    for (const replica of replicas) expect((await get(replica.url, 'Latecomer')).status).toBe(404);
    expect((await postJson(`${user.url}/register`, { name: 'Latecomer', info: 'here now' })).status).toBe(201);
    for (const replica of replicas) {
      await waitFor(async () => (await get(replica.url, 'Latecomer')).status === 200, 1_000, 2);
    }
  });

  it('after an acknowledged PATCH no replica serves the old info', async () => {
    await postJson(`${user.url}/register`, { name: 'Priya', info: 'v1' });
    for (const replica of replicas) {
      await warm(replica.url, 'Priya');
      expect((await get(replica.url, 'Priya')).body).toMatchObject({ info: 'v1', cached: true });
    }
    expect((await patchJson(`${user.url}/user/Priya`, { info: 'v2' })).status).toBe(200);
    for (const replica of replicas) {
      await waitFor(async () => (await get(replica.url, 'Priya')).body.info === 'v2', 1_000, 2);
    }
    // And it stays new: nothing refills the old value afterwards.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const replica of replicas) expect((await get(replica.url, 'Priya')).body.info).toBe('v2');
  });

  it('after an acknowledged DELETE no replica serves the user', async () => {
    await postJson(`${user.url}/register`, { name: 'Rahul', info: 'x' });
    for (const replica of replicas) await warm(replica.url, 'Rahul');
    expect((await deleteUser(`${user.url}/user/Rahul`)).status).toBe(204);
    for (const replica of replicas) {
      await waitFor(async () => (await get(replica.url, 'Rahul')).status === 404, 1_000, 2);
    }
  });

  it('rejects an invalid name with 400', async () => {
    const res = await fetch(`${replicas[0]!.url}/user/${encodeURIComponent('a\u0001b')}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await fetch(`${replicas[0]!.url}/user/${'n'.repeat(101)}`)).status).toBe(400);
  });
});

describe('GET /users', () => {
  it('pages through every user in name order with a cursor', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const query: string = after ? `limit=2&after=${encodeURIComponent(after)}` : 'limit=2';
      const page = await (await fetch(`${replicas[0]!.url}/users?${query}`)).json() as any;
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users.map((u: { name: string }) => u.name));
      after = page.next;
    } while (after);
    const all = (await db.sql`select name from users order by name`).map((r) => r.name);
    expect(seen).toEqual(all);
    expect(seen.length).toBeGreaterThan(3);
  });

  it.each(['limit=0', 'limit=101', 'limit=abc', 'after='])('rejects %s with 400', async (query) => {
    const res = await fetch(`${replicas[0]!.url}/users?${query}`);
    expect(res.status).toBe(400);
  });
});

describe('operations', () => {
  it('reports cache and listener state in readiness', async () => {
    const body = await (await fetch(`${replicas[0]!.url}/health/ready`)).json() as any;
    expect(body).toEqual({ status: 'ready', checks: { postgres: 'up', schema: 'up', listener: 'up', redis: 'up' } });
  });

  it('counts cache hits and misses per tier in /metrics', async () => {
    const text = await (await fetch(`${replicas[0]!.url}/metrics`)).text();
    expect(text).toMatch(/cache_lookups_total\{tier="local",result="hit"[^}]*\} [1-9]/);
    expect(text).toMatch(/cache_lookups_total\{tier="redis",result="miss"[^}]*\} [1-9]/);
    expect(text).toMatch(/http_server_request_duration_seconds_count\{[^}]*http_route="\/user\/:name",http_response_status_code="200"/);
  });

  it('describes GET /user/{name} and GET /users in OpenAPI', async () => {
    const doc = await (await fetch(`${replicas[0]!.url}/openapi.json`)).json() as any;
    expect(Object.keys(doc.paths).sort()).toEqual(['/', '/health', '/health/ready', '/user/{name}', '/users']);
    expect(doc.components.schemas.CachedUser.allOf).toContainEqual(
      expect.objectContaining({ properties: { cached: expect.objectContaining({ type: 'boolean' }) } }),
    );
  });
});
