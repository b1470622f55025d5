import { afterEach, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { createLogger } from '../../shared/src/observability/index.ts';
import { migrate, schemaIsCurrent, seedDemoUsers } from '../src/migrate.ts';
import { demoUsers, migrations } from '../src/migrations.ts';
import { createTestDatabase, PG, type TestDatabase } from '../../../test/support/postgres.ts';
import { startUser } from '../../../test/support/services.ts';

const silent = createLogger('test', 'silent');
let db: TestDatabase | undefined;

afterEach(async () => {
  await db?.drop();
  db = undefined;
});

describe('migrations', () => {
  it('replicas migrating at the same moment apply each migration exactly once', async () => {
    db = await createTestDatabase('migrate_race');
    const clients = Array.from({ length: 6 }, () => postgres({ ...PG, database: db!.name, max: 1, onnotice: () => {} }));
    try {
      const results = await Promise.all(clients.map((sql) => migrate(sql, silent)));
      const applied = results.flat();
      expect(applied.sort()).toEqual(migrations.map((m) => m.id).sort());
      expect(results.filter((r) => r.length > 0)).toHaveLength(1);
      const recorded = await db.sql`select id from schema_migrations order by id`;
      expect(recorded.map((r) => r.id)).toEqual(migrations.map((m) => m.id));
      expect(await schemaIsCurrent(clients[0]!)).toBe(true);
    } finally {
      await Promise.all(clients.map((sql) => sql.end()));
    }
  });

  it('a second run finds nothing to do', async () => {
    db = await createTestDatabase('migrate_twice');
    const sql = postgres({ ...PG, database: db.name, max: 1, onnotice: () => {} });
    try {
      expect(await migrate(sql, silent)).toHaveLength(migrations.length);
      expect(await migrate(sql, silent)).toEqual([]);
    } finally {
      await sql.end();
    }
  });

  it('adds no demo rows by default, and all five when asked, once', async () => {
    db = await createTestDatabase('seed');
    const plain = await startUser(db.name);
    await plain.migrated;
    await plain.stop();
    expect(await db.sql`select name from users`).toEqual([]);

    const seeded = await startUser(db.name, { SEED_DEMO_USERS: 'true' });
    await seeded.migrated;
    await seeded.stop();
    const names = (await db.sql`select name from users order by name`).map((r) => r.name);
    expect(names).toEqual(demoUsers.map((u) => u.name).sort());

    const sql = postgres({ ...PG, database: db.name, max: 1, onnotice: () => {} });
    expect(await seedDemoUsers(sql)).toBe(0);
    await sql.end();
  });

  it('the schema announces every change of a user on the users_changed channel', async () => {
    db = await createTestDatabase('notify');
    const sql = postgres({ ...PG, database: db.name, max: 2, onnotice: () => {} });
    try {
      await migrate(sql, silent);
      const heard: string[] = [];
      await sql.listen('users_changed', (name) => heard.push(name));
      await sql`insert into users (name, info) values ('Amit', 'a')`;
      await sql`update users set info = 'b' where name = 'Amit'`;
      await sql`delete from users where name = 'Amit'`;
      await expect.poll(() => heard, { timeout: 2_000 }).toEqual(['Amit', 'Amit', 'Amit']);
    } finally {
      await sql.end();
    }
  });

  it('is not current until every migration is recorded', async () => {
    db = await createTestDatabase('current');
    const sql = postgres({ ...PG, database: db.name, max: 1, onnotice: () => {} });
    try {
      expect(await schemaIsCurrent(sql)).toBe(false);
      await migrate(sql, silent);
      await sql`delete from schema_migrations where id = ${migrations.at(-1)!.id}`;
      expect(await schemaIsCurrent(sql)).toBe(false);
    } finally {
      await sql.end();
    }
  });
});
