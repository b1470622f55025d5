import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../shared/src/config/index.ts';
import { createSql } from '../../shared/src/storage/index.ts';
import { createLogger } from '../../shared/src/observability/index.ts';
import { USERS_CHANNEL } from '../../shared/src/api/index.ts';
import { migrate } from '../../user/src/migrate.ts';
import { dataEnv } from '../src/config.ts';
import { listenForChanges } from '../src/invalidation.ts';
import { createTestDatabase, PG, type TestDatabase } from '../../../test/support/postgres.ts';
import { testEnv, waitFor } from '../../../test/support/services.ts';
import { TcpProxy } from '../../../test/support/tcp-proxy.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('invalidation');
  await migrate(db.sql, createLogger('test', 'silent'));
});
afterAll(() => db?.drop());

describe('the LISTEN connection', () => {
  it('a connection that stops answering is noticed by the heartbeat and replaced', async () => {
    const proxy = await new TcpProxy(PG.port, PG.host).start();
    const config = parseEnv(dataEnv, testEnv(db.name, { PGPORT: proxy.port }));
    const events: string[] = [];
    const heard: string[] = [];
    const listener = listenForChanges(
      (overrides) => createSql(config, 'invalidation-test', overrides),
      USERS_CHANNEL,
      createLogger('test', 'silent'),
      { heartbeatMs: 100, timeoutMs: 200 },
    );
    listener.start({
      onChange: (name) => heard.push(name),
      onLost: () => events.push('lost'),
      onResumed: () => events.push('resumed'),
    });
    try {
      await waitFor(() => listener.listening);

      // Packets stop flowing, but no connection is closed: only the heartbeat can tell.
      proxy.stall();
      await waitFor(() => !listener.listening, 3_000);
      expect(events).toEqual(['lost']);

      await proxy.restore();
      await waitFor(() => listener.listening, 5_000);
      expect(events).toEqual(['lost', 'resumed']);

      await db.sql`insert into users (name, info) values ('after-stall', '')`;
      await waitFor(() => heard.includes('after-stall'), 2_000);
    } finally {
      await listener.close();
      await proxy.close();
    }
  });
});
