// Redis is a cache for reads and the relay's destination, never a condition of a write: for 30 s
// without it, writes succeed, readiness stays green, events wait in the outbox, and afterwards
// every one of them is in the stream, in commit order.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { deleteUser, patchJson, postJson, REDIS_PORT, startUser, waitFor } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { firstAppearances, lastEventId, publishedId, readStream } from './support.ts';

const OUTAGE_MS = 30_000;

let db: TestDatabase;
let redis: Redis;
let proxy: TcpProxy;

beforeAll(async () => {
  db = await createTestDatabase('events_redis_down');
  redis = new Redis({ port: REDIS_PORT });
  proxy = await new TcpProxy(REDIS_PORT).start();
});
afterAll(async () => {
  await proxy?.close();
  redis?.disconnect();
  await db?.drop();
});

it('for 30 s without Redis writes succeed and readiness stays green; then every event is delivered in order', { timeout: 120_000 }, async () => {
  const service = await startUser(db.name, { REDIS_PORT: proxy.port });
  try {
    await service.migrated;
    let writing = true;
    const statuses: number[] = [];
    // Four clients, each registering, updating and deleting users of its own, until told to stop.
    const writers = Array.from({ length: 4 }, async (_, client) => {
      for (let i = 0; writing; i++) {
        const name = `c${client}-u${i}`;
        statuses.push((await postJson(`${service.url}/register`, { name, info: 'new' })).status);
        statuses.push((await patchJson(`${service.url}/user/${name}`, { info: 'changed' })).status);
        if (i % 3 === 0) statuses.push((await deleteUser(`${service.url}/user/${name}`)).status);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    await waitFor(async () => (await publishedId(db.sql)) > 0n, 10_000, 20);
    await proxy.cut();
    const readiness: number[] = [];
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      readiness.push((await fetch(`${service.url}/health/ready`)).status);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const waiting = (await lastEventId(db.sql)) - (await publishedId(db.sql));
    const lag = Number(/^user_events_outbox_lag_seconds\{[^}]*\} (\S+)$/m.exec(await (await fetch(`${service.url}/metrics`)).text())![1]);
    await proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    writing = false;
    await Promise.all(writers);

    expect(readiness.every((status) => status === 200)).toBe(true);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.every((status) => status === 200 || status === 201 || status === 204)).toBe(true);
    // Events piled up while Redis was away, and the lag metric said so.
    expect(waiting).toBeGreaterThan(50n);
    expect(lag).toBeGreaterThan(OUTAGE_MS / 2_000);

    await waitFor(async () => (await publishedId(db.sql)) === (await lastEventId(db.sql)), 30_000, 50);
    const tableIds = (await db.sql`select id::text from user_events order by user_events.id`).map((row) => BigInt(row.id));
    const events = await readStream(redis, db.eventStream);
    expect(firstAppearances(events)).toEqual(tableIds);
    console.info(`redis down ${OUTAGE_MS} ms: ${statuses.length} writes answered, ${waiting} events waited in the outbox, lag reached ${lag.toFixed(1)} s, ${events.length - tableIds.length} duplicates`);
  } finally {
    await service.stop();
  }
});
