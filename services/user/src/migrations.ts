/** Applied in order, once each, recorded in schema_migrations. Never edit one that has shipped. */
export interface Migration {
  id: string;
  sql: string;
}

import { USERS_CHANNEL } from '../../shared/src/api/index.ts';

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
