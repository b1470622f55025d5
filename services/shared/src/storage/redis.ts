import { Redis, type RedisOptions } from 'ioredis';
import { defineCacheScripts, type CacheRedis } from '../cache/index.ts';
import type { CommonConfig } from '../config/index.ts';

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
  return defineCacheScripts(redis);
}

/** Deletes every key under `prefix` with SCAN (Redis never blocks on it); returns how many. */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<number> {
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let removed = 0;
  for await (const keys of redis.scanStream({ match, count: 1000 }) as AsyncIterable<string[]>) {
    if (keys.length) removed += await redis.unlink(...keys);
  }
  return removed;
}
