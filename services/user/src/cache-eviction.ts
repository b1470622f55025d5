import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, EvictionMetrics } from '../../shared/src/observability/index.ts';
import { evictAndLog, userCacheKeys, type CacheRedis } from '../../shared/src/cache/index.ts';
import type { ReplicaAcks } from './replica-acks.ts';
import type { UserStore } from './users.ts';

export interface CacheEvictorOptions {
  redis: CacheRedis;
  keyPrefix: string;
  /** The replicas' acknowledgements; without them a write waits only for Redis' eviction. */
  acks: ReplicaAcks | undefined;
  /** The replicas' lease length (CACHE_LEASE_MS): how long a write waits when Redis is down. */
  leaseMs: number;
  logger: Logger;
  metrics: EvictionMetrics;
}

/**
 * Evicts a written name from the shared Redis tier straight after the commit, logs it for the
 * data-service replicas, and answers the write only once every live replica has dropped it from
 * its in-process tier or run out of its lease (shared/src/cache/cache-protocol.ts has the argument).
 * NOTIFY still evicts too; it covers what this path missed. A write never fails because of Redis:
 * while Redis cannot be reached, a write waits until one lease has passed since the first failure,
 * when no replica still trusts its in-process tier.
 */
export function createCacheEvictor({ redis, keyPrefix, acks, leaseMs, logger, metrics }: CacheEvictorOptions) {
  const keys = userCacheKeys(keyPrefix);
  let failing = false;
  /** performance.now() of the first failure in the current outage; undefined while Redis answers. */
  let outageSince: number | undefined;
  // Connected again: a later outage is timed from its own first failure.
  redis.on('ready', () => (outageSince = undefined));

  function untilLeasesEnd(): Promise<void> {
    outageSince ??= performance.now();
    const waitMs = outageSince + leaseMs - performance.now();
    return waitMs > 0 ? sleep(waitMs) : Promise.resolve();
  }

  return {
    /** Resolves when the replicas are done with the name (or their leases are), never rejects. */
    async evict(name: string): Promise<void> {
      // Not sent while disconnected (commands fail at once then), but still an eviction that was missed.
      if (redis.status !== 'ready') {
        metrics.failed.inc();
        return untilLeasesEnd();
      }
      try {
        const { entry, leases } = await evictAndLog(redis, keys, name);
        if (failing) logger.info('redis is back; evicting written users again');
        failing = false;
        outageSince = undefined;
        await acks?.awaitReplicas(entry, leases);
      } catch (error) {
        metrics.failed.inc();
        if (!failing) logger.warn({ err: error }, 'redis eviction failed; data-service evicts on NOTIFY');
        failing = true;
        await untilLeasesEnd();
      }
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
