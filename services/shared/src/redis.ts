import { Redis, type RedisOptions } from 'ioredis';
import type { CommonConfig } from './config.ts';

/**
 * A client for a cache, not a database: commands fail at once while disconnected (no offline
 * queue, no retries), time out quickly, and the client reconnects in the background.
 */
export function createRedis(config: CommonConfig, connectionName: string): CacheRedis {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    connectionName,
  };
  const redis = config.REDIS_URL
    ? new Redis(config.REDIS_URL, options)
    : new Redis({
        ...options,
        host: config.REDIS_HOST,
        port: config.REDIS_PORT,
        username: config.REDIS_USERNAME,
        password: config.REDIS_PASSWORD,
        db: config.REDIS_DB,
      });
  // ioredis reports every failed reconnect as an 'error' event; callers log state changes instead.
  redis.on('error', () => {});
  // Scripts run by SHA (EVALSHA, loaded on first use): one round trip, one small command each.
  redis.defineCommand('evictUser', { numberOfKeys: 2, lua: EVICT });
  redis.defineCommand('fillUserIfGeneration', { numberOfKeys: 2, lua: FILL_IF_GENERATION });
  // Loaded first on every (re)connection: an eviction must never bounce on NOSCRIPT and be
  // resent after a read that it should have preceded.
  redis.on('ready', () => {
    for (const script of [EVICT, FILL_IF_GENERATION]) redis.script('LOAD', script).catch(() => {});
  });
  return redis as CacheRedis;
}

/** The client with the cache's two scripts. */
export type CacheRedis = Redis & {
  evictUser(generationKey: string, valueKey: string, generationTtlMs: number): Promise<number>;
  fillUserIfGeneration(valueKey: string, generationKey: string, generation: string, value: string, ttlMs: number): Promise<number>;
};

const EVICT = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`;

// Fill only if no eviction ran since the lookup: a reader that fetched the old row before a
// write committed must not put it back after the write's eviction.
const FILL_IF_GENERATION = `
local current = redis.call('GET', KEYS[2]) or ''
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

/** Where a user's cache entry and its generation live; shared by the writer and the readers. */
export function userCacheKeys(prefix: string) {
  return {
    value: (name: string) => `${prefix}user:${name}`,
    generation: (name: string) => `${prefix}gen:${name}`,
  };
}

export type UserCacheKeys = ReturnType<typeof userCacheKeys>;

// Long enough to outlive any read in flight; short enough that unused names don't pile up.
const GENERATION_TTL_MS = 60 * 60 * 1000;

/**
 * Evicts one name: bumps its generation, so a fill prepared before this moment is refused, and
 * deletes its entry, atomically. The command is written to the connection before this returns,
 * so anything this client sends afterwards is ordered after it.
 */
export function evictUser(redis: CacheRedis, keys: UserCacheKeys, name: string): Promise<number> {
  return redis.evictUser(keys.generation(name), keys.value(name), GENERATION_TTL_MS);
}

/** Deletes every key under `prefix` with SCAN (Redis never blocks on it); returns how many. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let removed = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) removed += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return removed;
}
