// A throwaway PostgreSQL database and Redis key prefix per run, so the images are tested against
// the real servers without touching anyone else's data, and leave nothing behind.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { deleteKeysUnder } from '../../services/shared/src/redis.ts';

export interface ScratchBackends {
  /** Environment for a container on the host network: PG* and REDIS_* for the scratch space. */
  env: Record<string, string>;
  database: string;
  keyPrefix: string;
  /** How many keys the services wrote under the prefix (proof that the cache really was Redis). */
  countKeys: () => Promise<number>;
  dispose: () => Promise<void>;
}

export async function createScratchBackends(label: string): Promise<ScratchBackends> {
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const database = `${label}_${suffix}`;
  const keyPrefix = `${label}:${suffix}:`;

  const pg = {
    host: process.env.PGHOST || '127.0.0.1',
    port: Number(process.env.PGPORT || 5432),
    user: process.env.PGUSER || 'postgres',
    password: process.env.PGPASSWORD || '',
  };
  const redisAt = {
    host: process.env.REDIS_HOST || '127.0.0.1',
    port: Number(process.env.REDIS_PORT || 6379),
    password: process.env.REDIS_PASSWORD || '',
  };

  const admin = postgres({ ...pg, database: 'postgres', max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${database}"`);
  const redis = new Redis({ ...redisAt, password: redisAt.password || undefined, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();

  const keys = async () => {
    const found: string[] = [];
    for await (const batch of redis.scanStream({ match: `${keyPrefix}*`, count: 500 })) found.push(...(batch as string[]));
    return found;
  };

  return {
    database,
    keyPrefix,
    env: {
      PGHOST: pg.host,
      PGPORT: String(pg.port),
      PGUSER: pg.user,
      PGPASSWORD: pg.password,
      PGDATABASE: database,
      REDIS_HOST: redisAt.host,
      REDIS_PORT: String(redisAt.port),
      REDIS_PASSWORD: redisAt.password,
      REDIS_KEY_PREFIX: keyPrefix,
      // A signing key for this run only; `npm run token` in the image signs with it too.
      JWT_SECRET: randomBytes(32).toString('base64url'),
    },
    countKeys: async () => (await keys()).length,
    dispose: async () => {
      try {
        await deleteKeysUnder(redis, keyPrefix);
        // FORCE: a container that failed to stop may still hold a connection.
        await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        redis.disconnect();
        await admin.end({ timeout: 5 });
      }
    },
  };
}
