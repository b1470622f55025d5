import { queryTracker, type Sql } from '../../shared/src/storage/index.ts';
import type { Metrics, Tracing } from '../../shared/src/observability/index.ts';
import { toUser, type User, type UserRow } from '../../shared/src/api/index.ts';

export interface UserStore {
  /** Undefined when the name is taken: the existing row is left as it was. */
  create(name: string, info: string): Promise<User | undefined>;
  updateInfo(name: string, info: string): Promise<User | undefined>;
  remove(name: string): Promise<boolean>;
}

export function createUserStore(sql: Sql, metrics: Metrics, queryTimeoutMs: number, tracing?: Tracing): UserStore {
  const tracked = queryTracker(metrics, queryTimeoutMs, tracing);

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
