// A scratch database of any size: the project's own migrations, then every user in one statement.
import postgres from 'postgres';
import { PG, pgEnv } from '../database.ts';
import { runCommand } from '../processes.ts';

/** Seeded names are `u1` … `uN`; their info has the length of a short profile. */
export const REALISTIC_PREFIX = 'u';
export const SEED_INFO = 'registered by the realistic benchmark seed: a line of text the size of a short profile';

export interface SeedTiming {
  migrateMs: number;
  insertMs: number;
  analyzeMs: number;
}

export async function migrateAndSeedUsers(database: string, users: number): Promise<SeedTiming> {
  let started = performance.now();
  const migrated = await runCommand(process.execPath, ['dist/services/user/src/migrate-cli.js'], pgEnv(database, { LOG_LEVEL: 'warn' }));
  if (migrated.code !== 0) throw new Error(`migrations failed: ${migrated.stdout}${migrated.stderr}`);
  const migrateMs = performance.now() - started;
  const sql = postgres({ ...PG, database, max: 1, onnotice: () => {} });
  try {
    started = performance.now();
    // Nobody listens yet, so the NOTIFY trigger is skipped; one INSERT … SELECT generate_series
    // is the fastest plain-SQL load short of COPY and keeps the seed a single statement.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`set local synchronous_commit = off`;
      await tx`
        insert into users (name, info)
        select ${REALISTIC_PREFIX} || g, ${SEED_INFO}
        from generate_series(1, ${users}::int) g`;
    });
    const insertMs = performance.now() - started;
    started = performance.now();
    await sql`analyze users`;
    return { migrateMs, insertMs, analyzeMs: performance.now() - started };
  } finally {
    await sql.end({ timeout: 1 });
  }
}
