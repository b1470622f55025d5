import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '../../services/shared/src/redis.ts';

/** Where the test PostgreSQL is; CI and the README's setup provide it on 127.0.0.1:5432. */
export const PG = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  password: process.env.PGPASSWORD || undefined,
};

export interface TestDatabase {
  name: string;
  /** A superuser connection to the database, for arranging and inspecting behind the services' backs. */
  sql: postgres.Sql;
  drop: () => Promise<void>;
}

/** A fresh database per test file, so parallel files and repeated runs never collide. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = postgres({ ...PG, database: 'postgres', max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const sql = postgres({ ...PG, database: name, max: 2, onnotice: () => {} });
  return {
    name,
    sql,
    drop: async () => {
      // The services under test used `test:<database>:` as their Redis key prefix (services.ts).
      await removeRedisKeys(`test:${name}:`);
      await sql.end({ timeout: 1 });
      const cleanup = postgres({ ...PG, database: 'postgres', max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    },
  };
}

/** Deletes every Redis key under `prefix` (the Redis on REDIS_PORT, default 6379). */
async function removeRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis({ port: Number(process.env.REDIS_PORT || 6379), lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
