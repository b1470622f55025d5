// The relay's queries on the outbox (user_events, see migration 0003_user_events). All run on the
// relay's own connection, the one that holds the leadership lock.
import type { Sql } from '../../../shared/src/storage/index.ts';
import type { UserEvent, UserEventType } from '../../../shared/src/events/index.ts';

/** Held by the publishing relay for the life of its connection; any constant every replica shares. */
export const RELAY_LEADER_LOCK = 724_311_003;

interface OutboxRow {
  id: string;
  type: UserEventType;
  name: string;
  payload: unknown;
  occurred_at: Date;
  traceparent: string | null;
  tracestate: string | null;
  age_seconds: number;
}

export interface OutboxBatch {
  events: UserEvent[];
  /** Age of the batch's first event, the oldest unpublished one; undefined when the batch is empty. */
  oldestAgeSeconds: number | undefined;
}

/** The lock is a session lock: PostgreSQL lets it go when this connection ends, however it ends. */
export async function tryTakeLeadership(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ taken: boolean }[]>`select pg_try_advisory_lock(${RELAY_LEADER_LOCK}) as taken`;
  return row!.taken;
}

/** The id of the last event published to the stream (0 before the first). */
export async function publishedPosition(sql: Sql): Promise<bigint> {
  const [row] = await sql<{ published_id: string }[]>`select published_id::text from user_events_relay`;
  return BigInt(row!.published_id);
}

/** Committed events after `position`, in id (commit) order. */
export async function readAfter(sql: Sql, position: bigint, limit: number): Promise<OutboxBatch> {
  const rows = await sql<OutboxRow[]>`
    select id::text, type, name, payload, occurred_at, traceparent, tracestate,
           extract(epoch from clock_timestamp() - occurred_at)::float8 as age_seconds
    from user_events
    where id > ${position.toString()}
    -- The table's bigint, not the text of the select list (which would sort 10 before 9).
    order by user_events.id
    limit ${limit}`;
  return { events: rows.map(toEvent), oldestAgeSeconds: rows[0]?.age_seconds };
}

function toEvent(row: OutboxRow): UserEvent {
  return {
    type: row.type,
    id: row.id,
    name: row.name,
    occurredAt: row.occurred_at.toISOString(),
    ...(row.traceparent && { traceparent: row.traceparent }),
    ...(row.tracestate && { tracestate: row.tracestate }),
    payload: row.payload,
  } as UserEvent;
}

export class LeadershipLostError extends Error {
  override name = 'LeadershipLostError';
}

/**
 * Records `position` as published, only while this session still holds the leader lock: a relay
 * whose connection was replaced under it (postgres.js reconnects silently) cannot move the
 * position for the leader that took over.
 */
export async function advanceTo(sql: Sql, position: bigint): Promise<void> {
  const rows = await sql`
    update user_events_relay set published_id = ${position.toString()}, published_at = now()
    where exists (
      select 1 from pg_locks
      where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())
        and classid = 0 and objid = ${RELAY_LEADER_LOCK} and objsubid = 1
        and pid = pg_backend_pid() and granted
    )
    returning published_id`;
  if (rows.length === 0) throw new LeadershipLostError('the relay lock is no longer held by this connection');
}

/** Age of the oldest unpublished event, as any replica can see it; undefined when none waits. */
export async function oldestUnpublishedAge(sql: Sql): Promise<number | undefined> {
  const [row] = await sql<{ age_seconds: number | null }[]>`
    select extract(epoch from clock_timestamp() - e.occurred_at)::float8 as age_seconds
    from user_events_relay r
    left join lateral (select occurred_at from user_events where id > r.published_id order by id limit 1) e on true`;
  return row?.age_seconds ?? undefined;
}

const PRUNE_CHUNK = 5_000;

/** Deletes published events older than the retention, a chunk at a time; returns how many. */
export async function prunePublished(sql: Sql, retentionSeconds: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const result = await sql`
      delete from user_events where id in (
        select id from user_events
        where id <= (select published_id from user_events_relay)
          and occurred_at < now() - make_interval(secs => ${retentionSeconds})
        order by id
        limit ${PRUNE_CHUNK})`;
    removed += result.count;
    if (result.count < PRUNE_CHUNK) return removed;
  }
}
