import { queryTracker, type Sql } from '../../shared/src/storage/index.ts';
import type { Metrics, Tracing } from '../../shared/src/observability/index.ts';
import { toUser, type User, type UserRow } from '../../shared/src/api/index.ts';
import type { TraceContext } from './trace-context.ts';

export interface UserStore {
  /** Undefined when the name is taken: the existing row is left as it was. */
  create(name: string, info: string, trace?: TraceContext): Promise<User | undefined>;
  updateInfo(name: string, info: string, trace?: TraceContext): Promise<User | undefined>;
  remove(name: string, trace?: TraceContext): Promise<boolean>;
}

export interface UserStoreOptions {
  queryTimeoutMs: number;
  tracing?: Tracing | undefined;
  /**
   * Each write also inserts its event into the outbox (user_events), in the same statement: the
   * event exists exactly when the change committed. The trace context of the request goes with it.
   */
  events: boolean;
}

export function createUserStore(sql: Sql, metrics: Metrics, { queryTimeoutMs, tracing, events }: UserStoreOptions): UserStore {
  const tracked = queryTracker(metrics, queryTimeoutMs, tracing);
  return events ? withEvents(sql, tracked) : withoutEvents(sql, tracked);
}

type Tracked = ReturnType<typeof queryTracker>;

function withoutEvents(sql: Sql, tracked: Tracked): UserStore {
  return {
    async create(name, info) {
      const [row] = await tracked(sql<UserRow[]>`
        insert into users (name, info) values (${name}, ${info})
        on conflict (name) do nothing
        returning name, info, created_at, updated_at`);
      return row && toUser(row);
    },
    async updateInfo(name, info) {
      const [row] = await tracked(sql<UserRow[]>`
        update users set info = ${info} where name = ${name}
        returning name, info, created_at, updated_at`);
      return row && toUser(row);
    },
    async remove(name) {
      const result = await tracked(sql`delete from users where name = ${name}`);
      return result.count > 0;
    },
  };
}

// One statement per write, change and event together: atomic without a transaction block, and
// no more round trips than without events. A change that does not happen (a taken name, no such
// user) selects no row, so it inserts no event.
function withEvents(sql: Sql, tracked: Tracked): UserStore {
  return {
    async create(name, info, trace = {}) {
      const [row] = await tracked(sql<UserRow[]>`
        with created as (
          insert into users (name, info) values (${name}, ${info})
          on conflict (name) do nothing
          returning name, info, created_at, updated_at
        ), event as (
          insert into user_events (type, name, payload, traceparent, tracestate)
          select 'user.registered', name, user_public_fields(name, info, created_at, updated_at),
                 ${trace.traceparent ?? null}, ${trace.tracestate ?? null}
          from created
        )
        select name, info, created_at, updated_at from created`);
      return row && toUser(row);
    },
    async updateInfo(name, info, trace = {}) {
      const [row] = await tracked(sql<UserRow[]>`
        with updated as (
          update users set info = ${info} where name = ${name}
          returning name, info, created_at, updated_at
        ), event as (
          insert into user_events (type, name, payload, traceparent, tracestate)
          select 'user.updated', name, user_public_fields(name, info, created_at, updated_at),
                 ${trace.traceparent ?? null}, ${trace.tracestate ?? null}
          from updated
        )
        select name, info, created_at, updated_at from updated`);
      return row && toUser(row);
    },
    async remove(name, trace = {}) {
      const rows = await tracked(sql`
        with deleted as (
          delete from users where name = ${name} returning name
        ), event as (
          insert into user_events (type, name, payload, traceparent, tracestate)
          select 'user.deleted', name, jsonb_build_object('name', name),
                 ${trace.traceparent ?? null}, ${trace.tracestate ?? null}
          from deleted
        )
        select name from deleted`);
      return rows.length > 0;
    },
  };
}
