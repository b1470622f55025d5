import DataLoader from 'dataloader';
import { batchOverOneTurn } from './batch.ts';
import type { Logger, CacheMetrics } from '../../shared/src/observability/index.ts';
import { evictUser, fillUsersIfGeneration, lookupUsers, userCacheKeys, type CacheFill, type CacheLookup, type CacheRedis } from '../../shared/src/cache/index.ts';
import { deleteKeysUnder } from '../../shared/src/storage/index.ts';
import type { User } from '../../shared/src/api/index.ts';

/** What Redis said about a name. `generation` must be handed back to `fill`. */
export type RedisLookup =
  | { state: 'hit'; user: User | null }
  | { state: 'miss'; generation: string }
  | { state: 'skipped' };

export interface RedisCacheOptions {
  redis: CacheRedis;
  keyPrefix: string;
  ttlSeconds: number;
  negativeTtlSeconds: number;
  logger: Logger;
  metrics: CacheMetrics;
}

const ABSENT = '-';
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;

export type RedisCache = ReturnType<typeof createRedisCache>;

/**
 * The shared tier, speaking the cache protocol (shared/src/cache/cache-protocol.ts, where the fill race
 * is explained). Redis is optional for correctness of availability: every failure opens a
 * short, growing back-off during which requests skip Redis instead of waiting on it.
 */
export function createRedisCache({ redis, keyPrefix, ttlSeconds, negativeTtlSeconds, logger, metrics }: RedisCacheOptions) {
  const keys = userCacheKeys(keyPrefix);

  let skipUntil = 0;
  let backoffMs = FIRST_BACKOFF_MS;
  let degraded = false;
  // Set when an eviction could not reach Redis; Redis is not read again until it is flushed.
  let mustFlush = false;
  let flushing: Promise<void> | undefined;

  const connected = () => redis.status === 'ready';

  function succeeded() {
    backoffMs = FIRST_BACKOFF_MS;
    if (degraded) logger.info('redis is back; using the cache again');
    degraded = false;
  }

  function failed(error: unknown) {
    metrics.errors.inc();
    skipUntil = Date.now() + backoffMs;
    if (!degraded) logger.warn({ err: error, backoffMs }, 'redis unavailable; answering from PostgreSQL');
    degraded = true;
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }

  function usable(): boolean {
    if (!connected() || Date.now() < skipUntil) return false;
    if (mustFlush) {
      flushing ??= flush().finally(() => (flushing = undefined));
      return false;
    }
    return !flushing;
  }

  /**
   * Deletes every cached answer: after missed evictions none can be trusted. Generations stay (a
   * fill prepared before the flush must still be refused), and so do the replicas' leases and log.
   */
  async function flush(): Promise<void> {
    try {
      const removed = await deleteKeysUnder(redis, keys.value(''));
      mustFlush = false;
      logger.info({ removed }, 'flushed redis entries that may have missed an eviction');
      succeeded();
    } catch (error) {
      failed(error);
    }
  }

  // A failed batch counts as one failure (one back-off step, one error), as its one command was.
  // Each batch asks `usable` again when it is sent: Redis may have become untrusted (a missed
  // eviction, a lost LISTEN) since its first name was added, and then it is not read or filled.
  const lookups = new DataLoader<string, CacheLookup | undefined>(async (names) => {
    if (!usable()) return names.map(() => undefined);
    try {
      const found = await lookupUsers(redis, keys, names);
      succeeded();
      return found;
    } catch (error) {
      failed(error);
      return names.map(() => undefined);
    }
  }, batchOverOneTurn);

  const fills = new DataLoader<CacheFill, void>(async (batch) => {
    if (!usable()) return batch.map(() => undefined);
    try {
      await fillUsersIfGeneration(redis, keys, batch);
      succeeded();
    } catch (error) {
      failed(error);
    }
    return batch.map(() => undefined);
  }, batchOverOneTurn);

  return {
    async lookup(name: string): Promise<RedisLookup> {
      if (!usable()) return { state: 'skipped' };
      const found = await lookups.load(name);
      if (!found) return { state: 'skipped' };
      const { value, generation } = found;
      if (value === null) return { state: 'miss', generation };
      try {
        return { state: 'hit', user: value === ABSENT ? null : (JSON.parse(value) as User) };
      } catch (error) {
        failed(error);
        return { state: 'skipped' };
      }
    },

    async fill(name: string, user: User | null, generation: string): Promise<void> {
      if (!usable()) return;
      const ttlMs = (user ? ttlSeconds : negativeTtlSeconds) * 1000;
      await fills.load({ name, generation, value: user ? JSON.stringify(user) : ABSENT, ttlMs });
    },

    /**
     * Bumps the name's generation and drops its entry. Sent synchronously, so any lookup this
     * process sends afterwards is ordered after it on the same connection.
     */
    invalidate(name: string): void {
      if (!connected()) {
        mustFlush = true;
        return;
      }
      evictUser(redis, keys, name).catch((error: unknown) => {
        mustFlush = true;
        failed(error);
      });
    },

    /** Called when evictions may have been missed (e.g. the LISTEN connection dropped). */
    distrust(): void {
      mustFlush = true;
    },

    state(): 'up' | 'down' | 'flushing' {
      if (!connected() || degraded) return 'down';
      return mustFlush || flushing ? 'flushing' : 'up';
    },
  };
}
