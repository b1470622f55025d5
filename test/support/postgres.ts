import type postgres from 'postgres';
import { connect, createScratchBackends } from '../../scripts/scratch-backends.ts';

export { PG } from '../../scripts/scratch-backends.ts';

export interface TestDatabase {
  name: string;
  /** The Redis Stream the user-service under test publishes to (testEnv's EVENTS_STREAM), removed by drop. */
  eventStream: string;
  /** A superuser connection to the database, for arranging and inspecting behind the services' backs. */
  sql: postgres.Sql;
  /** Drops the database and every Redis key the services under test wrote (testEnv's prefix). */
  drop: () => Promise<void>;
}

/** A fresh database per test file, so parallel files and repeated runs never collide. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  // The key prefix is testEnv's (services.ts): `test:<database>:`.
  const scratch = await createScratchBackends(`test_${label.replace(/\W/g, '_')}`, (database) => `test:${database}:`);
  const sql = connect(scratch.database, 2);
  return {
    name: scratch.database,
    eventStream: scratch.eventStream,
    sql,
    drop: async () => {
      await sql.end({ timeout: 1 });
      await scratch.dispose();
    },
  };
}
