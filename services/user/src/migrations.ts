/** Applied in order, once each, recorded in schema_migrations. Never edit one that has shipped. */
export interface Migration {
  id: string;
  sql: string;
}

import { USERS_CHANNEL } from '../../shared/src/api/index.ts';
import { USER_EVENTS_CHANNEL } from '../../shared/src/events/index.ts';

/**
 * Taken by every outbox insert until its commit: ids then increase in commit order, so the relay
 * can read on from the last id it published and never pass over a row that commits late.
 * The NOTIFY of every write already serializes commits, so this costs writes little more.
 */
export const OUTBOX_ORDER_LOCK = 724_311_002;

export const migrations: Migration[] = [
  {
    id: '0001_users',
    sql: `
      create table users (
        id bigint generated always as identity primary key,
        name text not null unique check (char_length(name) between 1 and 100),
        info text not null default '' check (char_length(info) <= 10000),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );

      create function users_touch_updated_at() returns trigger language plpgsql as $$
      begin
        new.updated_at := now();
        return new;
      end $$;

      create trigger users_touch_updated_at before update on users
        for each row execute function users_touch_updated_at();
    `,
  },
  {
    id: '0002_users_notify',
    // NOTIFY is delivered at commit, so a listener never evicts before the write is visible.
    sql: `
      create function users_notify_change() returns trigger language plpgsql as $$
      begin
        if tg_op in ('UPDATE', 'DELETE') then
          perform pg_notify('${USERS_CHANNEL}', old.name);
        end if;
        if tg_op = 'INSERT' or (tg_op = 'UPDATE' and new.name is distinct from old.name) then
          perform pg_notify('${USERS_CHANNEL}', new.name);
        end if;
        return null;
      end $$;

      create trigger users_notify_change after insert or update or delete on users
        for each row execute function users_notify_change();
    `,
  },
  {
    id: '0003_user_events',
    // The transactional outbox: a write inserts its event in the same statement as the change
    // (users.ts), and the relay publishes committed rows in id order (events/relay.ts).
    sql: `
      create table user_events (
        id bigint primary key,
        type text not null check (type in ('user.registered', 'user.updated', 'user.deleted')),
        name text not null,
        payload jsonb not null,
        occurred_at timestamptz not null default now(),
        traceparent text,
        tracestate text
      );
      create sequence user_events_id_seq owned by user_events.id;

      -- An identity default would be drawn before the lock is held; the trigger draws it after.
      create function user_events_number() returns trigger language plpgsql as $$
      begin
        perform pg_advisory_xact_lock(${OUTBOX_ORDER_LOCK});
        new.id := nextval('user_events_id_seq');
        return new;
      end $$;

      create trigger user_events_number before insert on user_events
        for each row execute function user_events_number();

      -- Delivered at commit; one per transaction (PostgreSQL folds identical notifications).
      create function user_events_notify() returns trigger language plpgsql as $$
      begin
        perform pg_notify('${USER_EVENTS_CHANNEL}', '');
        return null;
      end $$;

      create trigger user_events_notify after insert on user_events
        for each row execute function user_events_notify();

      -- How far the relay has published: one row, moved forward after each batch reached Redis.
      create table user_events_relay (
        only_row boolean primary key default true check (only_row),
        published_id bigint not null default 0,
        published_at timestamptz
      );
      insert into user_events_relay default values;

      -- The public fields of a user as the API answers them (toUser in user-schema.ts).
      create function user_public_fields(name text, info text, created_at timestamptz, updated_at timestamptz)
        returns jsonb language sql stable as $$
        select jsonb_build_object(
          'name', name,
          'info', info,
          'createdAt', to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'updatedAt', to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
      $$;
    `,
  },
];

export const latestMigration = migrations.at(-1)!.id;

/** Demo rows, only on request (`--seed` / SEED_DEMO_USERS=true). */
export const demoUsers = [
  { name: 'Amit', info: 'Backend engineer, Bengaluru' },
  { name: 'Priya', info: 'Product designer, Pune' },
  { name: 'Rahul', info: 'Data analyst, Hyderabad' },
  { name: 'Sneha', info: 'Site reliability engineer, Chennai' },
  { name: 'Rajesh', info: 'Engineering manager, Delhi' },
];
