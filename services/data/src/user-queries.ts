import DataLoader from 'dataloader';
import { queryTracker, type Sql } from '../../shared/src/storage/index.ts';
import type { Metrics, Tracing } from '../../shared/src/observability/index.ts';
import { toUser, type User, type UserRow } from '../../shared/src/api/index.ts';
import { batchOverOneTurn } from './batch.ts';

export interface UserPage {
  users: User[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export interface UserQueries {
  findByName(name: string): Promise<User | null>;
  page(limit: number, after: string | undefined): Promise<UserPage>;
}

/** Read-only access to the users table (postgres.js prepares each statement once per connection). */
export function createUserQueries(sql: Sql, metrics: Metrics, queryTimeoutMs: number, tracing?: Tracing): UserQueries {
  const tracked = queryTracker(metrics, queryTimeoutMs, tracing);

  // The names asked for in one turn of the event loop share one query (one statement for
  // PostgreSQL to bind and run instead of one each); a failed query fails each of them, as it
  // would have alone. With tracing, the query's span is a child of the first request of the batch.
  // The names go as one JSON array: postgres.js can send a text[] only once it has read the
  // server's array types, which a fresh pool has not. The plan is one index scan over them all.
  const byName = new DataLoader<string, User | null>(async (names) => {
    const rows = await tracked(sql<UserRow[]>`
      select name, info, created_at, updated_at from users
      where name = any(array(select jsonb_array_elements_text(${sql.json([...names])})))`);
    const found = new Map(rows.map((row) => [row.name, row]));
    return names.map((name) => {
      const row = found.get(name);
      return row ? toUser(row) : null;
    });
  }, batchOverOneTurn);

  return {
    findByName: (name) => byName.load(name),
    async page(limit, after) {
      // One extra row tells whether another page exists without a count(*).
      const rows = await tracked(
        after === undefined
          ? sql<UserRow[]>`
              select name, info, created_at, updated_at from users order by name limit ${limit + 1}`
          : sql<UserRow[]>`
              select name, info, created_at, updated_at from users where name > ${after}
              order by name limit ${limit + 1}`,
      );
      const users = rows.slice(0, limit).map(toUser);
      return { users, next: rows.length > limit ? users.at(-1)!.name : null };
    },
  };
}
