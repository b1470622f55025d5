// The relay killed with SIGKILL between publishing a batch and recording it, then started again: no event is missing from
// the stream, the only harm is duplicates, and the consumer example's deduplicated view of the
// stream is exactly the users table.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../services/shared/src/observability/index.ts';
import { migrate } from '../../services/user/src/migrate.ts';
import { consumeUserEvents, createUserDirectory } from '../../examples/user-events/consumer.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { REDIS_PORT, waitFor } from '../support/services.ts';
import { firstAppearances, isIncreasing, lastEventId, publishedId, readStream, startUserProcess } from './support.ts';

let db: TestDatabase;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDatabase('events_crash');
  await migrate(db.sql, createLogger('test', 'silent'));
  redis = new Redis({ port: REDIS_PORT });
});
afterAll(async () => {
  redis?.disconnect();
  await db?.drop();
});

/** Registers, updates and deletes in bulk, each with its event, the way the store's statements pair them. */
async function writeInBulk(users: number): Promise<void> {
  await db.sql`
    with created as (
      insert into users (name, info) select 'user-' || i, 'v0' from generate_series(1, ${users}) as i
      returning name, info, created_at, updated_at
    )
    insert into user_events (type, name, payload)
    select 'user.registered', name, user_public_fields(name, info, created_at, updated_at) from created`;
  await db.sql`
    with updated as (
      update users set info = 'v1' where name in (select 'user-' || i from generate_series(1, ${users}, 3) as i)
      returning name, info, created_at, updated_at
    )
    insert into user_events (type, name, payload)
    select 'user.updated', name, user_public_fields(name, info, created_at, updated_at) from updated`;
  await db.sql`
    with deleted as (delete from users where name in (select 'user-' || i from generate_series(1, ${users}, 5) as i) returning name)
    insert into user_events (type, name, payload) select 'user.deleted', name, jsonb_build_object('name', name) from deleted`;
}

it('SIGKILL mid-batch and a restart leave no gap, only duplicates, and the deduplicated view equals the table', { timeout: 120_000 }, async () => {
  await writeInBulk(20_000);
  const last = await lastEventId(db.sql);

  // The relay's position row is held locked, so the first batch reaches Redis and the relay then
  // waits to record it: a SIGKILL now is a crash in the middle of a batch, every time.
  let release!: () => void;
  let locked!: () => void;
  const positionLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = db.sql.begin(async (tx) => {
    await tx`select 1 from user_events_relay for update`;
    locked();
    await new Promise<void>((resolve) => (release = resolve));
  });
  await positionLocked;
  const first = await startUserProcess(db.name, { MIGRATE_ON_START: 'false' });
  await waitFor(async () => (await redis.xlen(db.eventStream)) > 0, 20_000, 2);
  first.child.kill('SIGKILL');
  await first.exited;
  // PostgreSQL notices the dead client only when its blocked UPDATE ends; ended first, as it would be eventually.
  await db.sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${db.name} and application_name = 'user-service-events'`;
  release();
  await holder;
  const publishedAtCrash = await publishedId(db.sql);
  expect(publishedAtCrash).toBe(0n);

  const second = await startUserProcess(db.name, { MIGRATE_ON_START: 'false' });
  try {
    await waitFor(async () => (await publishedId(db.sql)) === last, 60_000, 50);
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }

  const events = await readStream(redis, db.eventStream);
  const tableIds = (await db.sql`select id::text from user_events order by user_events.id`).map((row) => BigInt(row.id));
  const streamed = firstAppearances(events);
  // No gap: every event of the table, in commit order; anything more is a repeat.
  expect(streamed).toEqual(tableIds);
  expect(isIncreasing(streamed)).toBe(true);
  // The batch published before the crash went out again after it.
  expect(events.length).toBeGreaterThan(tableIds.length);
  console.info(`relay crash: ${events.length - tableIds.length} duplicates among ${events.length} stream entries; ${last} events`);

  // The consumer example, run until it has handled the whole stream.
  const directory = createUserDirectory();
  let handled = 0;
  const stop = new AbortController();
  const consumer = new Redis({ port: REDIS_PORT });
  try {
    await consumeUserEvents({
      redis: consumer,
      stream: db.eventStream,
      group: 'directory',
      consumer: 'only',
      signal: stop.signal,
      count: 1_000,
      handle: (event) => {
        directory.apply(event);
        if (++handled === events.length) stop.abort();
      },
    });
  } finally {
    consumer.disconnect();
  }
  const table = new Map((await db.sql`select name, info from users`).map((row) => [row.name as string, row.info as string]));
  expect(directory.view()).toEqual(table);
  expect(directory.dropped).toBe(events.length - tableIds.length);
});
