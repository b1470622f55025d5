import type { Sql } from '../../shared/src/storage/index.ts';
import type { Logger } from '../../shared/src/observability/index.ts';
import { demoUsers, latestMigration, migrations } from './migrations.ts';

// Any constant works as long as every replica uses the same one.
const MIGRATION_LOCK = 724_311_001;

/**
 * Applies pending migrations in one transaction under an advisory lock: replicas starting
 * together queue on the lock, and the second one finds nothing left to do.
 */
export async function migrate(sql: Sql, logger: Logger): Promise<string[]> {
  return sql.begin(async (tx) => {
    // Waiting for another replica's migration, or a long DDL, is not a stuck query.
    await tx`set local statement_timeout = 0`;
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK})`;
    await tx`
      create table if not exists schema_migrations (
        id text primary key,
        applied_at timestamptz not null default now()
      )`;
    const done = new Set((await tx<{ id: string }[]>`select id from schema_migrations`).map((row) => row.id));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.id)) continue;
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (id) values (${migration.id})`;
      applied.push(migration.id);
      logger.info({ migration: migration.id }, 'migration applied');
    }
    return applied;
  });
}

export async function seedDemoUsers(sql: Sql): Promise<number> {
  const rows = await sql`
    insert into users ${sql(demoUsers, 'name', 'info')}
    on conflict (name) do nothing
    returning name`;
  return rows.length;
}

/** True once every migration this build knows is recorded. */
export async function schemaIsCurrent(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ present: boolean }[]>`
    select to_regclass('schema_migrations') is not null as present`;
  if (!row?.present) return false;
  const [found] = await sql`select 1 from schema_migrations where id = ${latestMigration}`;
  return found !== undefined;
}
