import { Redis, type RedisOptions } from 'ioredis';
import type { CommonConfig } from './config.ts';

/**
 * A client for a cache, not a database: commands fail at once while disconnected (no offline
 * queue, no retries), time out quickly, and the client reconnects in the background.
 */
export function createRedis(config: CommonConfig, connectionName: string): Redis {
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
  return redis;
}

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
 * deletes its entry. One MULTI, sent at once on the client's single connection.
 */
export async function evictUser(redis: Redis, keys: UserCacheKeys, name: string): Promise<void> {
  const results = await redis
    .multi()
    .incr(keys.generation(name))
    .pexpire(keys.generation(name), GENERATION_TTL_MS)
    .del(keys.value(name))
    .exec();
  const failed = results?.find(([error]) => error);
  if (failed) throw failed[0];
}
