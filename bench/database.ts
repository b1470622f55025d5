// The benchmark's own PostgreSQL database and Redis key prefix: made at the start, removed at
// the end whatever happened in between.
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { deleteKeysUnder } from '../services/shared/src/redis.ts';
import { runCommand } from './processes.ts';

export const PG = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  password: process.env.PGPASSWORD || undefined,
};
export const REDIS = { host: process.env.REDIS_HOST || '127.0.0.1', port: Number(process.env.REDIS_PORT || 6379) };

export const SEED_USERS = 100_000;
/** Seeded names are `u1` … `u100000`. */
export const SEEDED_PREFIX = 'u';

const admin = () => postgres({ ...PG, database: 'postgres', max: 1, onnotice: () => {} });

export async function createDatabase(name: string): Promise<void> {
  const sql = admin();
  try {
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The schema by the project's own migration command, then the users in one statement. */
export async function migrateAndSeed(name: string): Promise<number> {
  const started = performance.now();
  const migrated = await runCommand(process.execPath, ['dist/services/user/src/migrate-cli.js'], pgEnv(name, { LOG_LEVEL: 'warn' }));
  if (migrated.code !== 0) throw new Error(`migrations failed: ${migrated.stdout}${migrated.stderr}`);
  const sql = postgres({ ...PG, database: name, max: 1, onnotice: () => {} });
  try {
    // Nobody listens yet; skipping the NOTIFY trigger keeps the seed to a second or two.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into users (name, info)
        select ${SEEDED_PREFIX} || g, 'registered by the benchmark seed: a line of text the size of a short profile'
        from generate_series(1, ${SEED_USERS}::int) g`;
    });
    await sql`analyze users`;
  } finally {
    await sql.end({ timeout: 1 });
  }
  return performance.now() - started;
}

export async function dropDatabase(name: string): Promise<void> {
  const sql = admin();
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

export function pgEnv(database: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { PGHOST: PG.host, PGPORT: String(PG.port), PGUSER: PG.user, PGDATABASE: database, ...extra };
  if (PG.password) env.PGPASSWORD = PG.password;
  return env;
}

/** Removes every key under `prefix`; returns how many. */
export async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return await deleteKeysUnder(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
