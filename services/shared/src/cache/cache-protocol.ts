/**
 * The shared cache's protocol, and where the fill race is handled.
 *
 * The race: data-service misses Redis, reads a user from PostgreSQL, and only then writes it to
 * Redis (cache-aside). If user-service commits a change and evicts the name in between, the
 * reader's late fill would put the old row back, and it would be served until its TTL ran out.
 *
 * The protocol that prevents it, in three steps, each one Redis command:
 * 1. A reader looks up the entry and the name's generation together (`lookupUser`, one MGET).
 * 2. Every eviction (`evictUser`: user-service after each write, data-service on each NOTIFY)
 *    bumps the generation and deletes the entry atomically (the EVICT script).
 * 3. The reader fills only if the generation is still the one it saw in step 1
 *    (`fillUserIfGeneration`, the FILL_IF_GENERATION script); otherwise an eviction ran since
 *    its lookup and the row it holds may be stale, so nothing is written.
 *
 * Generations outlive any read in flight (GENERATION_TTL_MS). The in-process tier has its own
 * side of the race: user-lookup.ts marks a lookup in flight stale on eviction, so its result is
 * never kept locally. What happens when Redis itself misses an eviction (it was unreachable) is in
 * data-service's redis-cache.ts: it distrusts and flushes everything under its prefix.
 */
import type { Redis } from 'ioredis';

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

/** A client with the protocol's two scripts. */
export type CacheRedis = Redis & {
  evictUser(generationKey: string, valueKey: string, generationTtlMs: number): Promise<number>;
  fillUserIfGeneration(valueKey: string, generationKey: string, generation: string, value: string, ttlMs: number): Promise<number>;
};

/** Gives a client the protocol's scripts (storage/redis.ts does this for every client it makes). */
export function defineCacheScripts(redis: Redis): CacheRedis {
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

/**
 * Step 1: the entry (null when absent) and the generation to hand back to `fillUserIfGeneration`
 * ('' when the name was never evicted).
 */
export async function lookupUser(redis: Redis, keys: UserCacheKeys, name: string): Promise<{ value: string | null; generation: string }> {
  const [value, generation] = await redis.mget(keys.value(name), keys.generation(name));
  return { value: value ?? null, generation: generation ?? '' };
}

/**
 * Step 2: evicts one name: bumps its generation, so a fill prepared before this moment is
 * refused, and deletes its entry, atomically. The command is written to the connection before
 * this returns, so anything this client sends afterwards is ordered after it.
 */
export function evictUser(redis: CacheRedis, keys: UserCacheKeys, name: string): Promise<number> {
  return redis.evictUser(keys.generation(name), keys.value(name), GENERATION_TTL_MS);
}

/** Step 3: stores `value` for `ttlMs` unless the name was evicted since the lookup that gave `generation`. */
export function fillUserIfGeneration(redis: CacheRedis, keys: UserCacheKeys, name: string, generation: string, value: string, ttlMs: number): Promise<number> {
  return redis.fillUserIfGeneration(keys.value(name), keys.generation(name), generation, value, ttlMs);
}
