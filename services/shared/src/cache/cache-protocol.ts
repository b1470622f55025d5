/**
 * The shared cache's protocol: the fill race, and read-your-writes across data-service replicas.
 *
 * ## The fill race
 * data-service misses Redis, reads a user from PostgreSQL, and only then writes it to Redis
 * (cache-aside). If user-service commits a change and evicts the name in between, the reader's
 * late fill would put the old row back, and it would be served until its TTL ran out. Three steps,
 * each one Redis command, prevent it:
 * 1. A reader looks up the entry and the name's generation together (`lookupUsers`, one MGET).
 * 2. Every eviction bumps the generation and deletes the entry atomically (EVICT, and the writer's
 *    EVICT_AND_LOG below).
 * 3. The reader fills only if the generation is still the one it saw in step 1
 *    (`fillUsersIfGeneration`); otherwise an eviction ran since its lookup, so nothing is written.
 * Generations outlive any read in flight (GENERATION_TTL_MS). In process, user-lookup.ts marks a
 * lookup in flight stale on eviction, so its result is never kept locally.
 * Steps 1 and 3 take many names at once (data-service batches the lookups that arrive together):
 * MGET reads each name's entry and generation in one atomic step, and the fill script decides each
 * name on its own generation, so a batch is exactly that many single-name steps, one round trip.
 *
 * ## Read-your-writes: acknowledgements and leases
 * Goal: once a write is acknowledged, no data-service replica answers that name from its
 * in-process tier with the value from before the write. Redis alone is not enough: each replica
 * keeps its own copy, and NOTIFY reaches it whenever its event loop gets to it.
 *
 * The pieces, all under the key prefix and used only through the scripts below:
 * - `leases`: a sorted set, replica id → the Redis time (ms) its lease ends. Only Redis' clock
 *   decides whether a lease is live, so no two machines' clocks are ever compared.
 * - `log`: a capped stream of written names; each entry also names the entry before it (`prev`,
 *   kept in `last`), so a reader can tell that it missed entries (trimmed, or Redis lost them).
 * - `acks`: a pub/sub channel where replicas say how far into the log they have applied.
 *
 * The writer (user-service, after its commit), in one script (EVICT_AND_LOG): bump the generation,
 * delete the Redis entry, append the name to the log (entry id `s`), and read the live leases with
 * each one's remaining time. It then answers the client only when every replica listed has
 * acknowledged a position >= `s` (or has released its lease), or that replica's remaining time has
 * passed on the writer's own clock, measured from after the script answered.
 *
 * A replica (data-service) renews its lease every quarter lease (RENEW_LEASE) and reads the log
 * on its own blocking connection: for each entry it drops the name from its in-process tier and
 * detaches lookups in flight, then publishes its position. It answers from its in-process tier
 * only while (a) its own view of the lease is live, (b) it has applied the log at least up to
 * `c`, the log's last entry when its latest renewal ran, and (c) it has not released the lease.
 * Its view of the lease ends earlier than Redis' record of it: it counts from the moment it *sent*
 * the renewal (before Redis ran it), on the monotonic clock, shortened by LEASE_CLOCK_MARGIN for
 * clocks that run at slightly different rates.
 *
 * Why no acknowledged write can be followed by a stale in-process hit. Take a write whose entry is
 * `s`, and a replica R.
 * - R was not listed by the writer's script: R held no live lease then. Its next lease is a fresh
 *   one (RENEW_LEASE reports that it did not continue an unexpired lease), and on a fresh lease R
 *   empties its in-process tier and detaches every lookup in flight before trusting it again, so
 *   nothing it cached before `s` survives.
 * - R was listed and acknowledged `s`: it had dropped the name and detached the lookups in flight
 *   before it said so. A lookup that starts later reads Redis, where EVICT_AND_LOG deleted the
 *   entry in the same step that created `s`, or PostgreSQL, which already has the commit. Batching
 *   changes nothing here: a lookup joins only a batch that has not been sent yet, so its MGET and
 *   its query leave after it started.
 * - R was listed, and its remaining time passed: Redis' record of R's lease, as it stood when the
 *   script ran, has ended. R's own view of that lease ended no later, so R stopped trusting its
 *   tier. Any renewal after the script ran returned a `c` >= `s`, so with a continued lease R
 *   trusts its tier again only once it has applied `s`, and with a fresh one it has emptied it.
 * So the wait is bounded by one lease (CACHE_LEASE_MS) per write, whatever replicas do: paused
 * (SIGSTOP), partitioned from Redis, killed, scaled down without a goodbye. A replica that stops
 * cleanly releases its lease first (RELEASE_LEASE), so writes stop waiting for it at once.
 *
 * A write's cost: the same one round trip to Redis as the eviction alone, then the wait for the
 * slowest live replica to read the entry and publish its position: two more Redis hops and that
 * replica's event-loop delay.
 *
 * When Redis is down, PostgreSQL is the fallback on both sides. Replicas cannot renew, so their
 * leases end within one lease length and they read Redis (skipped while it is down) or PostgreSQL,
 * with NOTIFY still evicting what they hold. The writer cannot list leases, so a write answers no
 * earlier than one lease length after the writer first saw Redis fail in that outage: by then no
 * lease granted before the outage is live. Not covered: Redis reachable by a replica but not by
 * user-service. That replica keeps its lease and hears of the write only through NOTIFY.
 *
 * What happens when Redis itself misses an eviction (it was unreachable) is in data-service's
 * redis-cache.ts: it distrusts and flushes the entries under its prefix.
 */
import type { Redis } from 'ioredis';

/** Where a user's cache entry and its generation live; shared by the writer and the readers. */
export function userCacheKeys(prefix: string) {
  return {
    value: (name: string) => `${prefix}user:${name}`,
    generation: (name: string) => `${prefix}gen:${name}`,
    leases: `${prefix}replicas:leases`,
    log: `${prefix}replicas:log`,
    last: `${prefix}replicas:last`,
    acks: `${prefix}replicas:acks`,
  };
}

export type UserCacheKeys = ReturnType<typeof userCacheKeys>;

// Long enough to outlive any read in flight; short enough that unused names don't pile up.
const GENERATION_TTL_MS = 60 * 60 * 1000;

/** The log keeps about this many entries; a replica further behind starts over with an empty tier. */
const LOG_MAX_ENTRIES = 10_000;
// A day without writes lets the log go; replicas then see a gap once and start over.
const LOG_TTL_MS = 24 * 60 * 60 * 1000;
/** A replica's view of its lease ends this share of the lease early (clocks run at different rates). */
export const LEASE_CLOCK_MARGIN = 0.05;

const EVICT = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`;

// Fill only if no eviction ran since the lookup: a reader that fetched the old row before a
// write committed must not put it back after the write's eviction. Each name is decided on its own:
// KEYS = value, generation per name; ARGV = generation seen, value, ttl ms per name. Returns how
// many were written.
const FILL_IF_GENERATION = `
local filled = 0
for i = 1, #KEYS, 2 do
  local j = (i - 1) / 2 * 3
  local current = redis.call('GET', KEYS[i + 1]) or ''
  if current == ARGV[j + 1] then
    redis.call('SET', KEYS[i], ARGV[j + 2], 'PX', ARGV[j + 3])
    filled = filled + 1
  end
end
return filled`;

// Redis' own clock, in ms: the only clock leases are compared against.
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// The writer's step: evict as EVICT does, append the name to the log, and list the live leases
// with each one's remaining ms. Returns { entry id, replica, remaining, replica, remaining, ... }.
const EVICT_AND_LOG = `
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local prev = redis.call('GET', KEYS[5]) or ''
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'name', ARGV[2], 'prev', prev)
redis.call('PEXPIRE', KEYS[4], ARGV[4])
redis.call('SET', KEYS[5], id, 'PX', ARGV[4])
local out = { id }
local leases = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
for i = 1, #leases, 2 do
  out[#out + 1] = leases[i]
  out[#out + 1] = tostring(tonumber(leases[i + 1]) - now)
end
return out`;

// A replica's renewal. Returns { 1 if it continued an unexpired lease, else 0; the log's last id }.
const RENEW_LEASE = `
${NOW_MS}
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
local continued = 0
if current and tonumber(current) > now then continued = 1 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return { continued, redis.call('GET', KEYS[2]) or '' }`;

// A replica that stops: writes stop waiting for it at once.
const RELEASE_LEASE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[1] .. ' ' .. ARGV[2])
return 1`;

/** A client with the protocol's scripts. */
export type CacheRedis = Redis & {
  evictUser(generationKey: string, valueKey: string, generationTtlMs: number): Promise<number>;
  /** numberOfKeys, then the keys, then the arguments (FILL_IF_GENERATION says which). */
  fillUsersIfGeneration(...keysAndArgs: (string | number)[]): Promise<number>;
  evictAndLog(generationKey: string, valueKey: string, leasesKey: string, logKey: string, lastKey: string, generationTtlMs: number, name: string, maxEntries: number, logTtlMs: number): Promise<string[]>;
  renewLease(leasesKey: string, lastKey: string, replica: string, leaseMs: number, keepMs: number): Promise<[number, string]>;
  releaseLease(leasesKey: string, acksChannel: string, replica: string, released: string): Promise<number>;
};

/** Gives a client the protocol's scripts (storage/redis.ts does this for every client it makes). */
export function defineCacheScripts(redis: Redis): CacheRedis {
  // Scripts run by SHA (EVALSHA, loaded on first use): one round trip, one small command each.
  redis.defineCommand('evictUser', { numberOfKeys: 2, lua: EVICT });
  // As many names as a batch holds: the caller passes the number of keys first.
  redis.defineCommand('fillUsersIfGeneration', { lua: FILL_IF_GENERATION });
  redis.defineCommand('evictAndLog', { numberOfKeys: 5, lua: EVICT_AND_LOG });
  redis.defineCommand('renewLease', { numberOfKeys: 2, lua: RENEW_LEASE });
  redis.defineCommand('releaseLease', { numberOfKeys: 2, lua: RELEASE_LEASE });
  // Loaded first on every (re)connection: an eviction must never bounce on NOSCRIPT and be
  // resent after a read that it should have preceded.
  redis.on('ready', () => {
    for (const script of [EVICT, FILL_IF_GENERATION, EVICT_AND_LOG, RENEW_LEASE, RELEASE_LEASE]) redis.script('LOAD', script).catch(() => {});
  });
  return redis as CacheRedis;
}

/** What step 1 found for one name. */
export interface CacheLookup {
  /** The entry, or null when absent. */
  value: string | null;
  /** To hand back to `fillUsersIfGeneration` ('' when the name was never evicted). */
  generation: string;
}

/** Step 1, for every name of a batch in one MGET: each one's entry and generation, in order. */
export async function lookupUsers(redis: Redis, keys: UserCacheKeys, names: readonly string[]): Promise<CacheLookup[]> {
  const replies = await redis.mget(names.flatMap((name) => [keys.value(name), keys.generation(name)]));
  return names.map((_, i) => ({ value: replies[2 * i] ?? null, generation: replies[2 * i + 1] ?? '' }));
}

/**
 * Step 2: evicts one name: bumps its generation, so a fill prepared before this moment is
 * refused, and deletes its entry, atomically. The command is written to the connection before
 * this returns, so anything this client sends afterwards is ordered after it.
 */
export function evictUser(redis: CacheRedis, keys: UserCacheKeys, name: string): Promise<number> {
  return redis.evictUser(keys.generation(name), keys.value(name), GENERATION_TTL_MS);
}

/** One name's fill: `value` for `ttlMs`, unless the name was evicted since the lookup that gave `generation`. */
export interface CacheFill {
  name: string;
  generation: string;
  value: string;
  ttlMs: number;
}

/** Step 3, for every fill of a batch in one script: each name stored unless evicted since its lookup; returns how many were. */
export function fillUsersIfGeneration(redis: CacheRedis, keys: UserCacheKeys, fills: readonly CacheFill[]): Promise<number> {
  const keyList = fills.flatMap(({ name }) => [keys.value(name), keys.generation(name)]);
  const args = fills.flatMap(({ generation, value, ttlMs }) => [generation, value, ttlMs]);
  return redis.fillUsersIfGeneration(keyList.length, ...keyList, ...args);
}

/** A log position: a stream entry id, or '' before the first entry. */
export type LogPosition = string;

/** Orders log positions (stream ids `ms-seq`, compared as two numbers; '' first). */
export function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a === b) return 0;
  if (a === '') return -1;
  if (b === '') return 1;
  const [aMs, aSeq] = a.split('-').map(Number) as [number, number];
  const [bMs, bSeq] = b.split('-').map(Number) as [number, number];
  return aMs - bMs || aSeq - bSeq;
}

/** What a replica publishes on `acks` when it stops: it holds nothing any more. */
export const RELEASED = 'released';

/** A live lease the writer must wait for: its holder and the ms it still runs (Redis' count). */
export interface LiveLease {
  replica: string;
  remainingMs: number;
}

/**
 * The writer's step: evicts the name as `evictUser` does, appends it to the log, and returns the
 * entry and the leases live at that moment.
 */
export async function evictAndLog(redis: CacheRedis, keys: UserCacheKeys, name: string): Promise<{ entry: LogPosition; leases: LiveLease[] }> {
  const [entry, ...rest] = await redis.evictAndLog(
    keys.generation(name), keys.value(name), keys.leases, keys.log, keys.last,
    GENERATION_TTL_MS, name, LOG_MAX_ENTRIES, LOG_TTL_MS,
  );
  const leases: LiveLease[] = [];
  for (let i = 0; i + 1 < rest.length; i += 2) leases.push({ replica: rest[i]!, remainingMs: Number(rest[i + 1]) });
  return { entry: entry!, leases };
}

/** A replica's renewal: whether it continued an unexpired lease, and the log's last entry now. */
export async function renewLease(redis: CacheRedis, keys: UserCacheKeys, replica: string, leaseMs: number): Promise<{ continued: boolean; last: LogPosition }> {
  // The set of leases outlives its longest possible lease many times over, never forever.
  const [continued, last] = await redis.renewLease(keys.leases, keys.last, replica, leaseMs, leaseMs * 10);
  return { continued: continued === 1, last };
}

export function releaseLease(redis: CacheRedis, keys: UserCacheKeys, replica: string): Promise<number> {
  return redis.releaseLease(keys.leases, keys.acks, replica, RELEASED);
}

/** A replica's acknowledgement: it has applied the log up to `position`. */
export function acknowledge(redis: Redis, keys: UserCacheKeys, replica: string, position: LogPosition): Promise<number> {
  return redis.publish(keys.acks, `${replica} ${position}`);
}

/** Log entries after `position` (up to `count`), waiting up to `blockMs` for one to arrive. */
export async function readLog(redis: Redis, keys: UserCacheKeys, position: LogPosition, count: number, blockMs: number): Promise<{ id: LogPosition; name: string; prev: LogPosition }[]> {
  const reply = (await redis.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', keys.log, position || '0-0')) as [string, [string, string[]][]][] | null;
  const entries = reply?.[0]?.[1] ?? [];
  return entries.map(([id, fields]) => {
    const field = (key: string) => fields[fields.indexOf(key) + 1] ?? '';
    return { id, name: field('name'), prev: field('prev') };
  });
}
