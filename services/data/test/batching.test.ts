// The miss path batches the lookups that arrive together: one MGET, one query and one fill script
// for all of them. Each name must still get its own answer, and the fill race must still be
// decided name by name.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../shared/src/config/index.ts';
import { createSql, createRedis, type Sql } from '../../shared/src/storage/index.ts';
import { createLogger, cacheMetrics, createMetrics } from '../../shared/src/observability/index.ts';
import type { CacheRedis } from '../../shared/src/cache/index.ts';
import type { User } from '../../shared/src/api/index.ts';
import { dataEnv, type DataConfig } from '../src/config.ts';
import { createLocalCache } from '../src/local-cache.ts';
import { createRedisCache } from '../src/redis-cache.ts';
import { createUserLookup } from '../src/user-lookup.ts';
import { createUserQueries } from '../src/user-queries.ts';
import { migrate } from '../../user/src/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { testEnv, waitFor } from '../../../test/support/services.ts';

const silent = createLogger('test', 'silent');
let db: TestDatabase;
let config: DataConfig;
let sql: Sql;
let redis: CacheRedis;
/** Statements data-service sent to PostgreSQL (postgres.js's debug hook). */
let statements: string[] = [];
/** Batched commands data-service sent to Redis. */
let sent: string[] = [];

/** The service's Redis client, recording the cache protocol's batched commands as they are sent. */
function recording(client: CacheRedis): CacheRedis {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'mget' || property === 'fillUsersIfGeneration') sent.push(property);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

function setUp(keyPrefix: string) {
  const metrics = createMetrics('data-service');
  const counters = cacheMetrics(metrics);
  const cache = createRedisCache({ redis: recording(redis), keyPrefix, ttlSeconds: 600, negativeTtlSeconds: 600, logger: silent, metrics: counters });
  const queries = createUserQueries(sql, metrics, config.PG_QUERY_TIMEOUT_MS);
  const local = createLocalCache({ ttlMs: 60_000, maxEntries: 100, maxBytes: 1 << 20 })!;
  const lookup = createUserLookup({ queries, redis: cache, local, coherent: () => true, localTrusted: () => true, metrics: counters });
  return { cache, queries, lookup };
}

beforeAll(async () => {
  db = await createTestDatabase('batching');
  await migrate(db.sql, silent);
  config = parseEnv(dataEnv, testEnv(db.name));
  sql = createSql(config, 'batching-test', { debug: (_connection: number, query: string) => statements.push(query) } as never);
  redis = createRedis(config, 'batching-test');
  // Commands fail at once until the client is connected (no offline queue): wait for it.
  await waitFor(() => redis.status === 'ready');
  await db.sql`insert into users (name, info) values ('Amit', 'a'), ('Meera', 'm'), ('Ravi', 'r'), ('Zoë', 'z')`;
});

afterAll(async () => {
  await sql?.end();
  redis?.disconnect();
  await db?.drop();
});

const userQueries = () => statements.filter((statement) => /from users/.test(statement));

describe('batched misses', () => {
  it('lookups that arrive together share one MGET, one query and one fill, and each gets its own answer', async () => {
    const prefix = `${config.REDIS_KEY_PREFIX}together:`;
    const { lookup } = setUp(prefix);
    statements = [];
    sent = [];
    const names = ['Amit', 'Meera', 'nobody', 'Zoë', 'Ravi'];
    const results = await Promise.all(names.map((name) => lookup.get(name)));
    // The answers do not wait for the fill; it is sent once they are in hand.
    await lookup.fillsSettled();

    expect(results.map((result) => [result.user?.name ?? null, result.user?.info ?? null, result.tier])).toEqual([
      ['Amit', 'a', 'postgres'],
      ['Meera', 'm', 'postgres'],
      [null, null, 'postgres'],
      ['Zoë', 'z', 'postgres'],
      ['Ravi', 'r', 'postgres'],
    ]);
    expect(userQueries()).toHaveLength(1);
    expect(sent).toEqual(['mget', 'fillUsersIfGeneration']);
    // Every name was filled, the unknown one as a remembered absence.
    const stored = await redis.mget(names.map((name) => `${prefix}user:${name}`));
    expect(stored.map((value) => (value === '-' ? '-' : (JSON.parse(value!) as User).info))).toEqual(['a', 'm', '-', 'z', 'r']);
  });

  it('a lookup that arrives a turn later is not held back, and reads what was committed by then', async () => {
    const { queries } = setUp(`${config.REDIS_KEY_PREFIX}later:`);
    const first = await queries.findByName('Amit');
    await db.sql`update users set info = 'a2' where name = 'Amit'`;
    const second = await queries.findByName('Amit');
    expect([first?.info, second?.info]).toEqual(['a', 'a2']);
  });

  it('a failed query fails every lookup of its batch', async () => {
    const broken = createSql(config, 'batching-broken', { max: 1 });
    await broken.end();
    const queries = createUserQueries(broken, createMetrics('data-service'), config.PG_QUERY_TIMEOUT_MS);
    const outcomes = await Promise.allSettled([queries.findByName('Amit'), queries.findByName('Meera')]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('the fill race, batched', () => {
  it('a fill script with several names writes only those not evicted since their lookup', async () => {
    const prefix = `${config.REDIS_KEY_PREFIX}race:`;
    const { cache } = setUp(prefix);
    const [amit, meera] = await Promise.all([cache.lookup('Amit'), cache.lookup('Meera')]);
    expect([amit.state, meera.state]).toEqual(['miss', 'miss']);
    cache.invalidate('Meera');
    await waitFor(async () => (await redis.get(`${prefix}gen:Meera`)) !== null);

    sent = [];
    const user = (name: string, info: string): User => ({ name, info, createdAt: '', updatedAt: '' });
    await Promise.all([
      cache.fill('Amit', user('Amit', 'a'), (amit as { generation: string }).generation),
      cache.fill('Meera', user('Meera', 'old'), (meera as { generation: string }).generation),
    ]);
    expect(sent).toEqual(['fillUsersIfGeneration']);
    expect(await redis.get(`${prefix}user:Amit`)).not.toBeNull();
    expect(await redis.get(`${prefix}user:Meera`)).toBeNull();
  });
});
