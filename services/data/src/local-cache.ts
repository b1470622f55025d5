import { LRUCache } from 'lru-cache';
import type { User } from '../../shared/src/api/index.ts';

/** `user: null` caches "no such user". */
export interface LocalEntry {
  user: User | null;
}

export interface LocalCacheOptions {
  ttlMs: number;
  maxEntries: number;
  maxBytes: number;
}

// Entries filled together (a warm-up, a popular page) would otherwise expire together and send
// a burst of refills through the slow path at once; ±20% spreads them out.
const TTL_JITTER = 0.2;

/**
 * The in-process tier: a bounded LRU (entries and bytes) with a short TTL, evicted by the same
 * NOTIFY as Redis. A TTL of 0 turns it off.
 */
export function createLocalCache({ ttlMs, maxEntries, maxBytes }: LocalCacheOptions) {
  if (ttlMs === 0) return undefined;
  const lru = new LRUCache<string, LocalEntry>({
    max: maxEntries,
    maxSize: maxBytes,
    // UTF-16 in memory: two bytes a character, plus a rough allowance for the object itself.
    sizeCalculation: (entry, name) => 2 * (name.length + (entry.user ? entry.user.info.length + entry.user.name.length + 48 : 0)) + 64,
    ttl: ttlMs,
    ttlAutopurge: false,
  });
  return {
    get: (name: string) => lru.get(name),
    set: (name: string, entry: LocalEntry) => {
      lru.set(name, entry, { ttl: Math.round(ttlMs * (1 - TTL_JITTER + 2 * TTL_JITTER * Math.random())) });
    },
    delete: (name: string) => lru.delete(name),
    clear: () => lru.clear(),
  };
}

export type LocalCache = NonNullable<ReturnType<typeof createLocalCache>>;
