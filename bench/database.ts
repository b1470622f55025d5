// The benchmark's data: the project's schema and many users, in the run's scratch database
// (scripts/scratch-backends.ts makes it at the start and removes it at the end).
import { connect, pgEnv } from '../scripts/scratch-backends.ts';
import { runCommand } from './processes.ts';

export const SEED_USERS = 100_000;
/** Seeded names are `u1` … `u100000`. */
export const SEEDED_PREFIX = 'u';

/** The schema by the project's own migration command, then the users in one statement. */
export async function migrateAndSeed(name: string): Promise<number> {
  const started = performance.now();
  const migrated = await runCommand(process.execPath, ['dist/services/user/src/migrate-cli.js'], pgEnv(name, { LOG_LEVEL: 'warn' }));
  if (migrated.code !== 0) throw new Error(`migrations failed: ${migrated.stdout}${migrated.stderr}`);
  const sql = connect(name);
  try {
    // Nobody listens yet; skipping the NOTIFY trigger spares one notification per seeded row.
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
