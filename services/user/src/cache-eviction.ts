import type { Logger, EvictionMetrics } from '../../shared/src/observability/index.ts';
import { evictUser, userCacheKeys, type CacheRedis } from '../../shared/src/cache/index.ts';
import type { UserStore } from './users.ts';

/**
 * Evicts a written name from the shared Redis tier straight after the commit, and the write
 * answers only once Redis has done it: a read sent after the answer must not find the old value
 * in Redis, and the replicas' NOTIFY arrives on its own schedule. NOTIFY still evicts too; it
 * covers the eviction this path missed. Best effort: the wait is bounded by Redis' command
 * timeout, and a write never fails because of Redis.
 */
export function createCacheEvictor(redis: CacheRedis, keyPrefix: string, logger: Logger, metrics: EvictionMetrics) {
  const keys = userCacheKeys(keyPrefix);
  let failing = false;

  return {
    /** Resolves when Redis has evicted the name or the attempt failed; never rejects. */
    evict(name: string): Promise<void> {
      // Not sent while disconnected (commands fail at once then), but still an eviction that was missed.
      if (redis.status !== 'ready') {
        metrics.failed.inc();
        return Promise.resolve();
      }
      const evicted = evictUser(redis, keys, name).then(
        () => {
          if (failing) logger.info('redis is back; evicting written users again');
          failing = false;
        },
        (error: unknown) => {
          metrics.failed.inc();
          if (!failing) logger.warn({ err: error }, 'redis eviction failed; data-service evicts on NOTIFY');
          failing = true;
        },
      );
      // While evictions fail (a hung Redis times every one out), writes stop waiting for them:
      // Redis is then no source of fresh reads for anyone, and NOTIFY evicts when it can.
      return failing ? Promise.resolve() : evicted;
    },
    state(): 'up' | 'down' {
      return redis.status === 'ready' && !failing ? 'up' : 'down';
    },
  };
}

export type CacheEvictor = ReturnType<typeof createCacheEvictor>;

/** The store, with every successful write followed by an eviction of that name before it answers. */
export function evictingWrites(store: UserStore, evictor: CacheEvictor): UserStore {
  return {
    async create(name, info, trace) {
      const user = await store.create(name, info, trace);
      if (user) await evictor.evict(user.name);
      return user;
    },
    async updateInfo(name, info, trace) {
      const user = await store.updateInfo(name, info, trace);
      if (user) await evictor.evict(user.name);
      return user;
    },
    async remove(name, trace) {
      const removed = await store.remove(name, trace);
      if (removed) await evictor.evict(name);
      return removed;
    },
  };
}
