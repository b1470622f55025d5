import { Redis, type RedisOptions } from 'ioredis';
import type { CommonConfig } from '../../shared/src/config.ts';

/**
 * A client for a cache, not a database: commands fail at once while disconnected (no offline
 * queue, no retries), time out quickly, and the client reconnects in the background.
 */
export function createRedis(config: CommonConfig & { REDIS_COMMAND_TIMEOUT_MS: number }): Redis {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    connectionName: 'data-service',
  };
  if (config.REDIS_URL) return new Redis(config.REDIS_URL, options);
  return new Redis({
    ...options,
    host: config.REDIS_HOST,
    port: config.REDIS_PORT,
    username: config.REDIS_USERNAME,
    password: config.REDIS_PASSWORD,
    db: config.REDIS_DB,
  });
}
