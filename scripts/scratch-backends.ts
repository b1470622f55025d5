// A throwaway PostgreSQL database and Redis key prefix for one run (a test file, the dev-loop e2e
// test, the image test, the benchmark), so it touches nobody else's data, and removed afterwards
// with every key written under the prefix. The one place that makes and removes them.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { deleteKeysUnder } from '../services/shared/src/storage/index.ts';

/** Where the local PostgreSQL and Redis are: the services' own PG* and REDIS_* variables. */
export const PG = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  password: process.env.PGPASSWORD || undefined,
};
export const REDIS = {
  host: process.env.REDIS_HOST || '127.0.0.1',
  port: Number(process.env.REDIS_PORT || 6379),
  password: process.env.REDIS_PASSWORD || undefined,
};

export interface ScratchBackends {
  database: string;
  keyPrefix: string;
  /** PG* and REDIS_* for a service (or a container on the host network) on the scratch space. */
  env: Record<string, string>;
  /** How many keys exist under the prefix (proof that a cache really was Redis). */
  countKeys: () => Promise<number>;
  /** Deletes the keys under `prefix`, which must lie inside the scratch prefix; returns how many. */
  deleteKeys: (prefix?: string) => Promise<number>;
  /** Drops the database (even with connections left open) and deletes every key under the prefix. */
  dispose: () => Promise<void>;
}

/** Runs `use` on a connection of its own to the local Redis, closed afterwards. */
export async function withRedis<T>(use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

/** A PostgreSQL connection as the local superuser; `max: 1` unless told otherwise. */
export function connect(database: string, max = 1): postgres.Sql {
  return postgres({ ...PG, database, max, onnotice: () => {} });
}

/** PG* variables for `database`, plus `extra`. */
export function pgEnv(database: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PGHOST: PG.host, PGPORT: String(PG.port), PGUSER: PG.user, PGDATABASE: database, ...extra };
  if (PG.password) env.PGPASSWORD = PG.password;
  return env;
}

export async function createScratchBackends(label: string, keyPrefixFor: (database: string) => string = (database) => `${database}:`): Promise<ScratchBackends> {
  const database = `${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const keyPrefix = keyPrefixFor(database);
  const admin = connect('postgres');
  try {
    await admin.unsafe(`create database "${database}"`);
  } finally {
    await admin.end({ timeout: 5 });
  }

  const deleteKeys = (prefix = keyPrefix): Promise<number> => {
    if (!prefix.startsWith(keyPrefix)) throw new Error(`${prefix} is outside the scratch prefix ${keyPrefix}`);
    return withRedis((redis) => deleteKeysUnder(redis, prefix));
  };

  const env = pgEnv(database, {
    REDIS_HOST: REDIS.host,
    REDIS_PORT: String(REDIS.port),
    REDIS_KEY_PREFIX: keyPrefix,
    // A signing key for this run only; `npm run token` in the image signs with it too.
    JWT_SECRET: randomBytes(32).toString('base64url'),
  });
  if (REDIS.password) env.REDIS_PASSWORD = REDIS.password;
  return {
    database,
    keyPrefix,
    env,
    countKeys: () =>
      withRedis(async (redis) => {
        let count = 0;
        for await (const batch of redis.scanStream({ match: `${keyPrefix}*`, count: 500 })) count += (batch as string[]).length;
        return count;
      }),
    deleteKeys,
    dispose: async () => {
      const cleanup = connect('postgres');
      try {
        await deleteKeys();
        await cleanup.unsafe(`drop database if exists "${database}" with (force)`);
      } finally {
        await cleanup.end({ timeout: 5 });
      }
    },
  };
}

/** Creates `name` unless it exists (for `make run`, whose database outlives the run). */
export async function createDatabaseIfMissing(name: string): Promise<boolean> {
  const admin = connect('postgres');
  try {
    const [found] = await admin`select 1 from pg_database where datname = ${name}`;
    if (found) return false;
    await admin.unsafe(`create database "${name.replace(/"/g, '""')}"`);
    return true;
  } finally {
    await admin.end({ timeout: 5 });
  }
}
