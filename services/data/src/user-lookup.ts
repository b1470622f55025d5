import type { CacheMetrics, Tracing } from '../../shared/src/observability/index.ts';
import type { User } from '../../shared/src/api/index.ts';
import type { LocalCache } from './local-cache.ts';
import type { RedisCache } from './redis-cache.ts';
import type { UserQueries } from './user-queries.ts';

/** Where an answer came from. */
export type Tier = 'local' | 'redis' | 'postgres';

export interface LookupResult {
  user: User | null;
  cached: boolean;
  tier: Tier;
}

export interface UserLookupDeps {
  queries: UserQueries;
  redis: RedisCache;
  local: LocalCache | undefined;
  /** False while changes cannot be heard; then no cache is read or filled. */
  coherent: () => boolean;
  /** False while this replica holds no read lease (read-lease.ts): then the in-process tier is skipped. */
  localTrusted: () => boolean;
  metrics: CacheMetrics;
}

interface Flight {
  promise: Promise<LookupResult>;
  /** Set when the name changed while this flight was under way: its result must not be cached. */
  stale: boolean;
}

/**
 * Cache-aside over two tiers: in-process LRU, then Redis, then PostgreSQL. Concurrent lookups of
 * one name share one flight (one Redis round trip, at most one query); an eviction detaches the
 * flight so later lookups start afresh and its result never lands in the local tier (the Redis side
 * of that race is in shared/src/cache/cache-protocol.ts).
 */
export function createUserLookup({ queries, redis, local: localTier, coherent, localTrusted, metrics }: UserLookupDeps) {
  const flights = new Map<string, Flight>();
  /** Redis fills sent and not yet decided. */
  const fills = new Set<Promise<void>>();
  // The tier to read and fill now, or none.
  const trustedLocal = () => (localTier && localTrusted() ? localTier : undefined);

  function fromLocalTier(name: string): LookupResult | undefined {
    const hit = trustedLocal()?.get(name);
    if (!hit) return undefined;
    metrics.lookups.inc({ tier: 'local', result: 'hit' });
    return { user: hit.user, cached: true, tier: 'local' };
  }

  async function fromDatabase(name: string): Promise<User | null> {
    const user = await queries.findByName(name);
    metrics.databaseReads.inc();
    return user;
  }

  async function lookupThroughTiers(name: string, flight: Flight): Promise<LookupResult> {
    const fromRedis = await redis.lookup(name);
    if (fromRedis.state === 'hit') {
      metrics.lookups.inc({ tier: 'redis', result: 'hit' });
      if (!flight.stale) trustedLocal()?.set(name, { user: fromRedis.user });
      return { user: fromRedis.user, cached: true, tier: 'redis' };
    }
    if (fromRedis.state === 'miss') metrics.lookups.inc({ tier: 'redis', result: 'miss' });

    const user = await fromDatabase(name);
    // The answer does not wait for the fill, a round trip it does not depend on: Redis decides
    // the fill by the name's generation alone, whenever it lands (cache-protocol.ts). A lookup
    // that reaches Redis before it misses and reads PostgreSQL, as it would have.
    if (fromRedis.state === 'miss') {
      // fill reports its own failures (a back-off and a metric); it never rejects.
      const fill = redis.fill(name, user, fromRedis.generation).catch(() => {}).finally(() => fills.delete(fill));
      fills.add(fill);
    }
    if (!flight.stale) trustedLocal()?.set(name, { user });
    return { user, cached: false, tier: 'postgres' };
  }

  function forgetLocally(name: string): void {
    localTier?.delete(name);
    const flight = flights.get(name);
    if (flight) {
      flight.stale = true;
      flights.delete(name);
    }
  }

  function forgetAllLocally(): void {
    localTier?.clear();
    for (const flight of flights.values()) flight.stale = true;
    flights.clear();
  }

  return {
    async get(name: string): Promise<LookupResult> {
      if (!coherent()) return { user: await fromDatabase(name), cached: false, tier: 'postgres' };

      const hit = fromLocalTier(name);
      if (hit) return hit;
      if (trustedLocal()) metrics.lookups.inc({ tier: 'local', result: 'miss' });

      const joined = flights.get(name);
      if (joined) return joined.promise;
      const flight: Flight = { promise: undefined as unknown as Promise<LookupResult>, stale: false };
      flight.promise = lookupThroughTiers(name, flight).finally(() => {
        if (flights.get(name) === flight) flights.delete(name);
      });
      flights.set(name, flight);
      return flight.promise;
    },

    /**
     * The in-process tier's answer (a user or a remembered absence) without waiting, or undefined:
     * then call get. Counts only hits, so a fall-through to get does not count the lookup twice.
     */
    peekLocal(name: string): LookupResult | undefined {
      return coherent() ? fromLocalTier(name) : undefined;
    },

    /** A NOTIFY said the name changed: drop it here and from Redis. */
    invalidate(name: string): void {
      metrics.invalidations.inc();
      forgetLocally(name);
      redis.invalidate(name);
    },

    /** The write log said the name changed; the writer has already evicted it from Redis. */
    forgetLocally,

    /** The in-process tier may have missed changes: drop it and detach every lookup in flight. */
    forgetAllLocally,

    /** Resolves once every fill sent so far has been decided (stored or refused, or failed). */
    async fillsSettled(): Promise<void> {
      await Promise.all(fills);
    },

    /** Changes may have been missed: drop everything this process holds and distrust Redis. */
    forgetAll(): void {
      forgetAllLocally();
      redis.distrust();
    },
  };
}

export type UserLookup = ReturnType<typeof createUserLookup>;

const LOOKUP_SPAN = 'cache lookup';

/**
 * The lookup with a span per request: `cache.tier` names the tier that answered (local, redis or
 * postgres) and `user.found` whether the name exists; Redis and PostgreSQL spans are its children.
 */
export function tracedLookup(lookup: UserLookup, tracing: Tracing): UserLookup {
  return {
    ...lookup,
    get: (name) =>
      tracing.inSpan(LOOKUP_SPAN, {}, async (annotate) => {
        const result = await lookup.get(name);
        annotate({ 'cache.tier': result.tier, 'user.found': result.user !== null });
        return result;
      }),
    peekLocal(name) {
      const result = lookup.peekLocal(name);
      // A miss here is followed by get, whose span covers the whole lookup.
      if (result) tracing.instant(LOOKUP_SPAN, { 'cache.tier': result.tier, 'user.found': result.user !== null });
      return result;
    },
  };
}
