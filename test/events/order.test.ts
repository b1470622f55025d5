// 10,000 mixed writes from concurrent clients, some of them refused and some rolled back: the
// stream holds every committed change exactly once, in commit order, and nothing else.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { UserEvent } from '../../services/shared/src/events/index.ts';
import { createUserDirectory } from '../../examples/user-events/consumer.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { deleteUser, patchJson, postJson, REDIS_PORT, startUser, waitFor } from '../support/services.ts';
import { isIncreasing, lastEventId, publishedId, readStream } from './support.ts';

const WRITES = 10_000;
const CLIENTS = 16;
const NAMES = 150;

let db: TestDatabase;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDatabase('events_order');
  redis = new Redis({ port: REDIS_PORT });
});
afterAll(async () => {
  redis?.disconnect();
  await db?.drop();
});

/** What one event looks like to the check: its type and the info it carried (unique per write). */
const signature = (event: Pick<UserEvent, 'type'> & { info?: string }) => (event.type === 'user.deleted' ? 'deleted' : `${event.type}:${event.info}`);

/** A fixed pseudo-random number in [0, 1) for each write (mulberry32), so every run writes the same mix. */
function random(n: number): number {
  let t = (n + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

function isSubsequence(needle: string[], haystack: string[]): boolean {
  let at = 0;
  for (const item of haystack) if (at < needle.length && item === needle[at]) at++;
  return at === needle.length;
}

it('10,000 concurrent mixed writes: each committed change is in the stream once, in commit order, and rolled-back ones are not', { timeout: 180_000 }, async () => {
  const service = await startUser(db.name);
  try {
    await service.migrated;
    // A write of a "doomed" name fails inside its statement, after the users row was written: it must roll back whole.
    await db.sql.unsafe(`
      create function refuse_doomed() returns trigger language plpgsql as $$
      begin
        if new.name like 'doomed-%' then raise exception 'rolled back for the test'; end if;
        return new;
      end $$;
      create trigger refuse_doomed before insert on user_events for each row execute function refuse_doomed();`);

    // Per client, per name: the signatures of its own successful writes, in the order it saw them answered.
    const observed = Array.from({ length: CLIENTS }, () => new Map<string, string[]>());
    const answered = { 'user.registered': 0, 'user.updated': 0, 'user.deleted': 0, refused: 0, rolledBack: 0 };
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let seq = 0; ; seq++) {
          const n = next++;
          if (n >= WRITES) return;
          const name = `user-${Math.floor(random(n) * NAMES)}`;
          const info = `${client}:${seq}`;
          const record = (type: UserEvent['type']) => {
            answered[type]++;
            const list = observed[client]!.get(name) ?? [];
            list.push(signature({ type, info }));
            observed[client]!.set(name, list);
          };
          if (n % 97 === 0) {
            const res = await postJson(`${service.url}/register`, { name: `doomed-${n}`, info });
            expect(res.status).toBe(500);
            answered.rolledBack++;
            continue;
          }
          // About 40% registers, 40% updates, 20% deletes.
          const op = random(n + WRITES);
          if (op < 0.4) {
            const res = await postJson(`${service.url}/register`, { name, info });
            if (res.status === 201) record('user.registered');
            else if (res.status === 409) answered.refused++;
            else throw new Error(`register answered ${res.status}`);
          } else if (op < 0.8) {
            const res = await patchJson(`${service.url}/user/${name}`, { info });
            if (res.status === 200) record('user.updated');
            else if (res.status === 404) answered.refused++;
            else throw new Error(`update answered ${res.status}`);
          } else {
            const res = await deleteUser(`${service.url}/user/${name}`);
            if (res.status === 204) record('user.deleted');
            else if (res.status === 404) answered.refused++;
            else throw new Error(`delete answered ${res.status}`);
          }
        }
      }),
    );
    await waitFor(async () => (await publishedId(db.sql)) === (await lastEventId(db.sql)), 30_000, 50);
    const events = await readStream(redis, db.eventStream);

    // Exactly once: the stream is the table, id for id, with no repeat.
    const tableIds = (await db.sql`select id::text from user_events order by user_events.id`).map((row) => BigInt(row.id));
    const streamIds = events.map((event) => BigInt(event.id));
    expect(streamIds).toEqual(tableIds);
    expect(isIncreasing(streamIds)).toBe(true);
    // Every committed change, and only those.
    const byType = (type: string) => events.filter((event) => event.type === type).length;
    expect([byType('user.registered'), byType('user.updated'), byType('user.deleted')]).toEqual([
      answered['user.registered'],
      answered['user.updated'],
      answered['user.deleted'],
    ]);
    expect(events.some((event) => event.name.startsWith('doomed-'))).toBe(false);
    expect(await db.sql`select 1 from users where name like 'doomed-%'`).toHaveLength(0);

    // Commit order per user: each client's answered writes of a name appear in that order.
    const streamed = new Map<string, string[]>();
    for (const event of events) {
      const list = streamed.get(event.name) ?? [];
      list.push(signature({ type: event.type, info: event.type === 'user.deleted' ? undefined : event.payload.info }));
      streamed.set(event.name, list);
    }
    for (const perClient of observed) {
      for (const [name, writes] of perClient) expect(isSubsequence(writes, streamed.get(name) ?? []), `${name}: ${writes.join(', ')}`).toBe(true);
    }
    // And replaying the stream gives the table.
    const directory = createUserDirectory();
    for (const event of events) directory.apply(event);
    expect(directory.view()).toEqual(new Map((await db.sql`select name, info from users`).map((row) => [row.name as string, row.info as string])));
    console.info(`order: ${WRITES} writes from ${CLIENTS} clients, ${events.length} events; ${answered.refused} refused and ${answered.rolledBack} rolled back left none`);
  } finally {
    await service.stop();
  }
});
