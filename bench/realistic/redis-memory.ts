// What the shared tier costs: Redis's own memory figures around a run, and the keys it left.
import { withRedis } from '../../scripts/scratch-backends.ts';
import { userCacheKeys } from '../../services/shared/src/cache/index.ts';

export interface RedisKeys {
  /** Cached answers (users and remembered absences) under the run's prefix. */
  values: number;
  /** Per-name generations, left by evictions (writes). */
  generations: number;
  /** Mean MEMORY USAGE of up to `sampled` value keys, in bytes. */
  meanValueBytes: number;
  sampled: number;
}

/** INFO memory's used_memory, in bytes: the whole server's, so other users of it show too. */
export function usedMemory(): Promise<number> {
  return withRedis(async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN));
}

export function keysUnder(prefix: string, sample = 2_000): Promise<RedisKeys> {
  return withRedis(async (redis) => {
    const count = async (pattern: string, keep: string[] | undefined) => {
      let n = 0;
      for await (const keys of redis.scanStream({ match: pattern, count: 5_000 }) as AsyncIterable<string[]>) {
        n += keys.length;
        if (keep) for (const key of keys) if (keep.length < sample) keep.push(key);
      }
      return n;
    };
    // The key layout is the cache protocol's; only the prefix needs escaping for MATCH.
    const keys = userCacheKeys(escapeGlob(prefix));
    const sampledKeys: string[] = [];
    const values = await count(keys.value('*'), sampledKeys);
    const generations = await count(keys.generation('*'), undefined);
    let bytes = 0;
    for (const key of sampledKeys) bytes += Number(await redis.memory('USAGE', key)) || 0;
    return { values, generations, meanValueBytes: sampledKeys.length ? bytes / sampledKeys.length : Number.NaN, sampled: sampledKeys.length };
  });
}

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');
