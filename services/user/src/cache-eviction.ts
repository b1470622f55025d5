import type { Logger } from '../../shared/src/logger.ts';
import type { EvictionMetrics } from '../../shared/src/metrics.ts';
import { evictUser, userCacheKeys, type CacheRedis } from '../../shared/src/redis.ts';
import type { UserStore } from './users.ts';

/**
 * Evicts a written name from the shared Redis tier straight after the commit. data-service
 * replicas evict on the trigger's NOTIFY anyway; this second path covers the time when none of
 * them is listening (scaled to zero, restarting), which NOTIFY alone would leave to the TTL.
 * Best effort: a write never waits for Redis or fails because of it.
 */
export function createCacheEvictor(redis: CacheRedis, keyPrefix: string, logger: Logger, metrics: EvictionMetrics) {
  const keys = userCacheKeys(keyPrefix);
  let failing = false;

  return {
    evict(name: string): void {
      // Not sent while disconnected (commands fail at once then), but still an eviction that was missed.
      if (redis.status !== 'ready') {
        metrics.failed.inc();
        return;
      }
      evictUser(redis, keys, name).then(
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
    },
    state(): 'up' | 'down' {
      return redis.status === 'ready' && !failing ? 'up' : 'down';
    },
  };
}

export type CacheEvictor = ReturnType<typeof createCacheEvictor>;

/** The store, with every successful write followed by an eviction of that name. */
export function evictingWrites(store: UserStore, evictor: CacheEvictor): UserStore {
  return {
    async create(name, info) {
      const user = await store.create(name, info);
      if (user) evictor.evict(user.name);
      return user;
    },
    async updateInfo(name, info) {
      const user = await store.updateInfo(name, info);
      if (user) evictor.evict(user.name);
      return user;
    },
    async remove(name) {
      const removed = await store.remove(name);
      if (removed) evictor.evict(name);
      return removed;
    },
  };
}
