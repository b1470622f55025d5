import { queryTracker, type Sql } from '../../shared/src/storage/index.ts';
import type { Metrics, Tracing } from '../../shared/src/observability/index.ts';
import { toUser, type User, type UserRow } from '../../shared/src/api/index.ts';

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

  return {
    async findByName(name) {
      const [row] = await tracked(sql<UserRow[]>`
        select name, info, created_at, updated_at from users where name = ${name}`);
      return row ? toUser(row) : null;
    },
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
