// Forces the interleavings that cache-aside gets wrong: a read that fetched the old row before a
// write committed, and tries to cache it after the write's eviction.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseEnv } from '../../shared/src/config/index.ts';
import { createSql, createRedis } from '../../shared/src/storage/index.ts';
import { createLogger, cacheMetrics, createMetrics } from '../../shared/src/observability/index.ts';
import { USERS_CHANNEL, type User } from '../../shared/src/api/index.ts';
import { dataEnv, type DataConfig } from '../src/config.ts';
import { listenForChanges, type InvalidationListener } from '../src/invalidation.ts';
import { createLocalCache, type LocalCache } from '../src/local-cache.ts';
import { createRedisCache } from '../src/redis-cache.ts';
import { createUserLookup, type UserLookup } from '../src/user-lookup.ts';
import { createUserQueries, type UserQueries } from '../src/user-queries.ts';
import { migrate } from '../../user/src/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { testEnv, waitFor } from '../../../test/support/services.ts';

const silent = createLogger('test', 'silent');
let db: TestDatabase;
let config: DataConfig;
let sql: ReturnType<typeof createSql>;
let redis: ReturnType<typeof createRedis>;
let listener: InvalidationListener;
let lookup: UserLookup;
let local: LocalCache;
let heard: string[];
/** When set, the next findByName holds its (already fetched) row until `release` is called. */
let hold: { fetched: () => void; released: Promise<void> } | undefined;
let queryCount = 0;

function holdNextQuery() {
  let fetched!: () => void;
  let release!: () => void;
  const wasFetched = new Promise<void>((resolve) => (fetched = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  hold = { fetched, released };
  return { wasFetched, release };
}

beforeAll(async () => {
  db = await createTestDatabase('fill_race');
  await migrate(db.sql, silent);
  config = parseEnv(dataEnv, testEnv(db.name, { LOCAL_CACHE_TTL_MS: 60_000 }));
  sql = createSql(config, 'fill-race-test');
  redis = createRedis(config, 'fill-race-test');
  const metrics = createMetrics('data-service');
  const counters = cacheMetrics(metrics);
  const real = createUserQueries(sql, metrics, config.PG_QUERY_TIMEOUT_MS);
  const gated: UserQueries = {
    ...real,
    async findByName(name) {
      queryCount++;
      const user = await real.findByName(name);
      const held = hold;
      if (held) {
        hold = undefined;
        held.fetched();
        await held.released;
      }
      return user;
    },
  };
  local = createLocalCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 })!;
  const redisCache = createRedisCache({ redis, keyPrefix: config.REDIS_KEY_PREFIX, ttlSeconds: 600, negativeTtlSeconds: 600, logger: silent, metrics: counters });
  listener = listenForChanges((overrides) => createSql(config, 'fill-race-listener', overrides), USERS_CHANNEL, silent);
  // The NOTIFY side of the race alone: no read lease, the in-process tier is always trusted here.
  lookup = createUserLookup({ queries: gated, redis: redisCache, local, coherent: () => listener.listening, localTrusted: () => true, metrics: counters });
  listener.start({
    onChange: (name) => {
      lookup.invalidate(name);
      heard.push(name);
    },
    onLost: () => lookup.forgetAll(),
    onResumed: () => lookup.forgetAll(),
  });
  await waitFor(() => listener.listening);
});

beforeEach(() => {
  heard = [];
  queryCount = 0;
});

afterAll(async () => {
  await listener?.close();
  await sql?.end();
  redis?.disconnect();
  await db?.drop();
});

const redisValue = (name: string) => redis.get(`${config.REDIS_KEY_PREFIX}user:${name}`);

async function insert(name: string, info: string) {
  await db.sql`insert into users (name, info) values (${name}, ${info})`;
  await waitFor(() => heard.includes(name));
  heard = [];
}

describe('the fill race', () => {
  it('a read that fetched the old row before an update does not cache it after the eviction', async () => {
    await insert('Amit', 'old');
    const { wasFetched, release } = holdNextQuery();
    const slowRead = lookup.get('Amit');
    await wasFetched; // the old row is in hand, not yet cached

    await db.sql`update users set info = 'new' where name = 'Amit'`;
    await waitFor(() => heard.includes('Amit')); // the eviction has run
    release();

    // The slow read began before the write was acknowledged, so it may answer the old row...
    expect((await slowRead).user?.info).toBe('old');
    await lookup.fillsSettled();
    // ...but it must not leave it behind in either tier.
    expect(await redisValue('Amit')).toBeNull();
    expect(local.get('Amit')).toBeUndefined();
    const next = await lookup.get('Amit');
    expect(next).toEqual({ user: expect.objectContaining({ info: 'new' }), cached: false, tier: 'postgres' });
  });

  it('a read that fetched "no such user" before a register does not cache the absence', async () => {
    const { wasFetched, release } = holdNextQuery();
    const slowRead = lookup.get('Priya');
    await wasFetched;
    await db.sql`insert into users (name, info) values ('Priya', 'registered')`;
    await waitFor(() => heard.includes('Priya'));
    release();
    expect((await slowRead).user).toBeNull();
    await lookup.fillsSettled();
    expect(await redisValue('Priya')).toBeNull();
    expect((await lookup.get('Priya')).user?.info).toBe('registered');
  });

  it('a read that starts after the eviction does not join the stale read in flight', async () => {
    await insert('Rahul', 'old');
    const { wasFetched, release } = holdNextQuery();
    const slowRead = lookup.get('Rahul');
    await wasFetched;
    await db.sql`update users set info = 'new' where name = 'Rahul'`;
    await waitFor(() => heard.includes('Rahul'));

    const freshRead = await lookup.get('Rahul');
    expect(freshRead.user?.info).toBe('new');
    release();
    await slowRead;
    expect((await lookup.get('Rahul')).user?.info).toBe('new');
  });

  it('a fill is refused when the generation moved, even if Redis took the eviction first', async () => {
    // Replays the Redis side alone: lookup (generation g), eviction (g+1), late fill with g.
    await insert('Sneha', 'old');
    const prefix = config.REDIS_KEY_PREFIX;
    const cache = createRedisCache({ redis, keyPrefix: prefix, ttlSeconds: 600, negativeTtlSeconds: 600, logger: silent, metrics: cacheMetrics(createMetrics('x')) });
    const seen = await cache.lookup('Sneha');
    expect(seen.state).toBe('miss');
    cache.invalidate('Sneha');
    await waitFor(async () => (await redis.get(`${prefix}gen:Sneha`)) !== null);
    const stale: User = { name: 'Sneha', info: 'old', createdAt: '', updatedAt: '' };
    await cache.fill('Sneha', stale, (seen as { generation: string }).generation);
    expect(await redisValue('Sneha')).toBeNull();
    // A lookup after the eviction gets the new generation, and its fill lands.
    const fresh = await cache.lookup('Sneha');
    await cache.fill('Sneha', { ...stale, info: 'new' }, (fresh as { generation: string }).generation);
    expect(JSON.parse((await redisValue('Sneha'))!).info).toBe('new');
  });
});

describe('single flight', () => {
  it('concurrent misses for one name share one PostgreSQL query', async () => {
    await insert('Rajesh', 'x');
    const results = await Promise.all(Array.from({ length: 25 }, () => lookup.get('Rajesh')));
    expect(queryCount).toBe(1);
    expect(new Set(results.map((r) => r.user?.info))).toEqual(new Set(['x']));
  });
});
