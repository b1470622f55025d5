// The benchmark's data: the project's schema and many users, in the run's scratch database
// (scripts/scratch-backends.ts makes it at the start and removes it at the end).
import { connect, pgEnv } from '../scripts/scratch-backends.ts';
import { runCommand } from './processes.ts';

// Enough that a miss run at full speed (8 s, plus the warm-up on unknown names) never reaches the hot set.
export const SEED_USERS = 400_000;
/** Seeded names are `u1` … `uN`. */
export const SEEDED_PREFIX = 'u';

export interface SeedTiming {
  migrateMs: number;
  insertMs: number;
  analyzeMs: number;
}

/** The schema by the project's own migration command, then `users` users in one statement. */
export async function migrateAndSeed(name: string, users = SEED_USERS): Promise<SeedTiming> {
  let started = performance.now();
  const migrated = await runCommand(process.execPath, ['dist/services/user/src/migrate-cli.js'], pgEnv(name, { LOG_LEVEL: 'warn' }));
  if (migrated.code !== 0) throw new Error(`migrations failed: ${migrated.stdout}${migrated.stderr}`);
  const migrateMs = performance.now() - started;
  const sql = connect(name);
  try {
    started = performance.now();
    // Nobody listens yet, so the NOTIFY trigger is skipped; one INSERT … SELECT generate_series
    // is the fastest plain-SQL load short of COPY and keeps the seed a single statement.
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`set local synchronous_commit = off`;
      await tx`
        insert into users (name, info)
        select ${SEEDED_PREFIX} || g, 'registered by the benchmark seed: a line of text the size of a short profile'
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

/** Milliseconds a seed took from the first migration to the analyzed table. */
export const seedMs = (timing: SeedTiming): number => timing.migrateMs + timing.insertMs + timing.analyzeMs;
