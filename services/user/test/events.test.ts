import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../shared/src/config/index.ts';
import { decodeStreamEntry, type UserEvent } from '../../shared/src/events/index.ts';
import { userEnv } from '../src/config.ts';
import { prunePublished } from '../src/events/outbox.ts';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { authHeader, deleteUser, patchJson, postJson, REDIS_PORT, startUser, testEnv, waitFor } from '../../../test/support/services.ts';

let db: TestDatabase;
let redis: Redis;

beforeAll(async () => {
  db = await createTestDatabase('user_events');
  redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  await redis.connect();
});
afterAll(async () => {
  redis?.disconnect();
  await db?.drop();
});

interface OutboxRow {
  id: string;
  type: string;
  name: string;
  payload: unknown;
  traceparent: string | null;
}

const outbox = () => db.sql<OutboxRow[]>`select id::text, type, name, payload, traceparent from user_events order by user_events.id`;

async function streamEvents(stream = db.eventStream): Promise<UserEvent[]> {
  const entries = await redis.xrange(stream, '-', '+');
  return entries.map(([, fields]) => decodeStreamEntry(fields));
}

describe('the outbox', () => {
  let service: Awaited<ReturnType<typeof startUser>>;
  beforeAll(async () => {
    service = await startUser(db.name);
    await service.migrated;
  });
  afterAll(() => service?.stop());

  it('every register, update and delete records one event with the public fields the API answered; refused writes record none', async () => {
    const before = (await outbox()).length;
    const registered = await (await postJson(`${service.url}/register`, { name: 'Amit', info: 'first' })).json();
    expect((await postJson(`${service.url}/register`, { name: 'Amit', info: 'again' })).status).toBe(409);
    expect((await postJson(`${service.url}/register`, { name: '', info: 'x' })).status).toBe(400);
    const updated = await (await patchJson(`${service.url}/user/Amit`, { info: 'second' })).json();
    expect((await patchJson(`${service.url}/user/nobody`, { info: 'x' })).status).toBe(404);
    expect((await deleteUser(`${service.url}/user/Amit`)).status).toBe(204);
    expect((await deleteUser(`${service.url}/user/Amit`)).status).toBe(404);

    const rows = (await outbox()).slice(before);
    expect(rows.map((row) => [row.type, row.name])).toEqual([
      ['user.registered', 'Amit'],
      ['user.updated', 'Amit'],
      ['user.deleted', 'Amit'],
    ]);
    expect(rows[0]!.payload).toEqual(registered);
    expect(rows[1]!.payload).toEqual(updated);
    expect(rows[2]!.payload).toEqual({ name: 'Amit' });
    const ids = rows.map((row) => BigInt(row.id));
    expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
  });

  it('a write that fails in the database leaves neither the change nor an event', async () => {
    await db.sql.unsafe(`
      create function refuse_doomed() returns trigger language plpgsql as $$
      begin
        if new.name = 'doomed' then raise exception 'refused for the test'; end if;
        return new;
      end $$;
      create trigger refuse_doomed before insert on user_events for each row execute function refuse_doomed();`);
    try {
      const before = (await outbox()).length;
      const res = await postJson(`${service.url}/register`, { name: 'doomed', info: '' });
      expect(res.status).toBe(500);
      expect(await db.sql`select 1 from users where name = 'doomed'`).toHaveLength(0);
      expect((await outbox()).length).toBe(before);
    } finally {
      await db.sql.unsafe('drop trigger refuse_doomed on user_events; drop function refuse_doomed();');
    }
  });

  it("carries the caller's W3C traceparent (tracing off: passed on as sent) and drops a malformed one", async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const headers = { 'content-type': 'application/json', traceparent };
    const withTrace = await postJson(`${service.url}/register`, { name: 'traced', info: '' }, { headers: { ...headers, ...(await authHeader()) } });
    expect(withTrace.status).toBe(201);
    const bad = await postJson(`${service.url}/register`, { name: 'badly-traced', info: '' }, { headers: { ...headers, traceparent: 'not-a-trace', ...(await authHeader()) } });
    expect(bad.status).toBe(201);
    const rows = await db.sql<OutboxRow[]>`select name, traceparent from user_events where name in ('traced', 'badly-traced') order by id`;
    expect(rows).toEqual([
      { name: 'traced', traceparent },
      { name: 'badly-traced', traceparent: null },
    ]);
  });

  it('the relay publishes every committed event to the stream in id order, each as the table holds it', async () => {
    for (let i = 0; i < 20; i++) await postJson(`${service.url}/register`, { name: `relayed-${i}`, info: `#${i}` });
    const rows = await outbox();
    await waitFor(async () => (await redis.xlen(db.eventStream)) >= rows.length, 10_000);
    const events = await streamEvents();
    expect(events.map((event) => event.id)).toEqual(rows.map((row) => row.id));
    expect(events.map((event) => [event.type, event.name, event.payload])).toEqual(rows.map((row) => [row.type, row.name, row.payload]));
    const [published] = await db.sql`select published_id::text as id from user_events_relay`;
    expect(published!.id).toBe(rows.at(-1)!.id);
  });

  it('reports the relay on /metrics: leader, events published, lag', async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toMatch(/^user_events_relay_leader\{[^}]*\} 1$/m);
    const published = Number(/^user_events_published_total\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    expect(published).toBe((await outbox()).length);
    expect(text).toMatch(/^user_events_outbox_lag_seconds\{[^}]*\} 0$/m);
  });
});

describe('retention and the stream bound', () => {
  it('prunes published events older than EVENTS_RETENTION, and keeps the recent ones', async () => {
    const scratch = await createTestDatabase('user_events_prune');
    try {
      let service = await startUser(scratch.name, { EVENTS_RETENTION: '1h' });
      await service.migrated;
      for (const name of ['old-1', 'old-2', 'recent']) await postJson(`${service.url}/register`, { name, info: '' });
      await waitFor(async () => (await redis.xlen(scratch.eventStream)) === 3, 10_000);
      await service.stop();
      await scratch.sql`update user_events set occurred_at = now() - interval '1 day' where name in ('old-1', 'old-2')`;
      service = await startUser(scratch.name, { EVENTS_RETENTION: '1h' });
      await service.migrated;
      await waitFor(async () => (await scratch.sql`select 1 from user_events where name like 'old-%'`).length === 0, 10_000);
      await service.stop();
      expect((await scratch.sql`select name from user_events`).map((row) => row.name)).toEqual(['recent']);
      // The stream is bounded by its own length, not by the outbox's retention.
      expect((await streamEvents(scratch.eventStream)).map((event) => event.name)).toEqual(['old-1', 'old-2', 'recent']);
    } finally {
      await scratch.drop();
    }
  });

  it('never prunes an event that is not published yet, however old', async () => {
    const scratch = await createTestDatabase('user_events_unpublished');
    try {
      const service = await startUser(scratch.name, { EVENTS_ENABLED: 'false' });
      await service.migrated;
      await service.stop();
      await scratch.sql`
        insert into user_events (type, name, payload, occurred_at)
        select 'user.deleted', 'n' || i, jsonb_build_object('name', 'n' || i), now() - interval '2 days'
        from generate_series(1, 4) as i`;
      await scratch.sql`update user_events_relay set published_id = 2`;
      expect(await prunePublished(scratch.sql, 3_600)).toBe(2);
      expect((await scratch.sql`select name from user_events order by id`).map((row) => row.name)).toEqual(['n3', 'n4']);
    } finally {
      await scratch.drop();
    }
  });

  it('trims the stream to about EVENTS_STREAM_MAX_LENGTH entries (MAXLEN ~)', async () => {
    const scratch = await createTestDatabase('user_events_maxlen');
    try {
      const service = await startUser(scratch.name, { EVENTS_STREAM_MAX_LENGTH: 50 });
      await service.migrated;
      for (let i = 0; i < 400; i++) await postJson(`${service.url}/register`, { name: `bounded-${i}`, info: '' });
      await waitFor(async () => (await scratch.sql`select published_id::int as id from user_events_relay`)[0]!.id === 400, 10_000);
      await service.stop();
      const length = await redis.xlen(scratch.eventStream);
      expect(length).toBeGreaterThanOrEqual(50);
      expect(length).toBeLessThan(400);
      const [last] = await redis.xrevrange(scratch.eventStream, '+', '-', 'COUNT', 1);
      expect(decodeStreamEntry(last![1]).name).toBe('bounded-399');
    } finally {
      await scratch.drop();
    }
  });
});

describe('EVENTS_ENABLED=false', () => {
  it('records no event and runs no relay', async () => {
    const scratch = await createTestDatabase('user_events_off');
    try {
      const service = await startUser(scratch.name, { EVENTS_ENABLED: 'false' });
      await service.migrated;
      expect((await postJson(`${service.url}/register`, { name: 'quiet', info: '' })).status).toBe(201);
      expect(await scratch.sql`select 1 from user_events`).toHaveLength(0);
      expect(service.events()).toBeUndefined();
      expect(await (await fetch(`${service.url}/metrics`)).text()).not.toContain('user_events_');
      await service.stop();
    } finally {
      await scratch.drop();
    }
  });
});

describe('configuration', () => {
  it('refuses an EVENTS_STREAM under REDIS_KEY_PREFIX, whose keys data-service deletes, naming the variable', () => {
    expect(() => parseEnv(userEnv, testEnv('any', { REDIS_KEY_PREFIX: 'users:', EVENTS_STREAM: 'users:events' }))).toThrow(
      'invalid configuration: EVENTS_STREAM: must lie outside REDIS_KEY_PREFIX',
    );
  });

  it('reads EVENTS_RETENTION as a duration and names it when it is not one', () => {
    expect(parseEnv(userEnv, testEnv('any', { EVENTS_RETENTION: '7d' })).EVENTS_RETENTION).toBe(7 * 86_400);
    expect(() => parseEnv(userEnv, testEnv('any', { EVENTS_RETENTION: 'a week' }))).toThrow('invalid configuration: EVENTS_RETENTION: expected a number with s, m, h or d');
  });
});
