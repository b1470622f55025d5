// What the shared tier costs: Redis's own memory figures around a run, and the keys it left.
import { Redis } from 'ioredis';
import { REDIS } from '../../scripts/scratch-backends.ts';

export interface RedisKeys {
  /** Cached answers (users and remembered absences) under the run's prefix. */
  values: number;
  /** Per-name generations, left by evictions (writes). */
  generations: number;
  /** Mean MEMORY USAGE of up to `sampled` value keys, in bytes. */
  meanValueBytes: number;
  sampled: number;
}

async function withRedis<T>(body: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await body(redis);
  } finally {
    redis.disconnect();
  }
}

/** INFO memory's used_memory, in bytes: the whole server's, so other users of it show too. */
export function usedMemory(): Promise<number> {
  return withRedis(async (redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN));
}

export function keysUnder(prefix: string, sample = 2_000): Promise<RedisKeys> {
  return withRedis(async (redis) => {
    const count = async (pattern: string, keep: string[] | undefined) => {
      let n = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5_000);
        cursor = next;
        n += keys.length;
        if (keep) for (const key of keys) if (keep.length < sample) keep.push(key);
      } while (cursor !== '0');
      return n;
    };
    const sampledKeys: string[] = [];
    const values = await count(`${escapeGlob(prefix)}user:*`, sampledKeys);
    const generations = await count(`${escapeGlob(prefix)}gen:*`, undefined);
    let bytes = 0;
    for (const key of sampledKeys) bytes += Number(await redis.memory('USAGE', key)) || 0;
    return { values, generations, meanValueBytes: sampledKeys.length ? bytes / sampledKeys.length : Number.NaN, sampled: sampledKeys.length };
  });
}

const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, '\\$&');
