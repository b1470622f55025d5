// Two user-service replicas on one database: one relay publishes at a time, and when the leader
// is killed the other takes the lock over and publishes on, without a gap.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../services/shared/src/observability/index.ts';
import { migrate } from '../../services/user/src/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { freePort } from '../../scripts/free-port.ts';
import { postJson, REDIS_PORT, startUser, waitFor } from '../support/services.ts';
import { firstAppearances, lastEventId, publishedId, readStream, relayLeader, startUserProcess, type UserProcess } from './support.ts';

let db: TestDatabase;
let redis: Redis;
const replicas: UserProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('events_leader');
  await migrate(db.sql, createLogger('test', 'silent'));
  redis = new Redis({ port: REDIS_PORT });
});
afterAll(async () => {
  for (const replica of replicas) replica.child.kill('SIGKILL');
  await Promise.all(replicas.map((replica) => replica.exited));
  redis?.disconnect();
  await db?.drop();
});

it('one relay publishes at a time; killing the leader hands publishing to the other replica', { timeout: 90_000 }, async () => {
  replicas.push(await startUserProcess(db.name, { MIGRATE_ON_START: 'false' }), await startUserProcess(db.name, { MIGRATE_ON_START: 'false' }));
  const leaders = async () => Promise.all(replicas.map((replica) => relayLeader(replica.url)));
  await waitFor(async () => (await leaders()).filter((flag) => flag === 1).length === 1, 10_000, 50);
  const flags = await leaders();
  expect(flags.sort()).toEqual([0, 1]);

  // Writes through both replicas; the events all go out through the one leader.
  for (let i = 0; i < 40; i++) expect((await postJson(`${replicas[i % 2]!.url}/register`, { name: `before-${i}`, info: '' })).status).toBe(201);
  await waitFor(async () => (await publishedId(db.sql)) === (await lastEventId(db.sql)), 10_000, 20);
  const locks = await db.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and objid = 724311003 and granted`;
  expect(locks[0]!.n).toBe(1);

  const leaderIndex = (await leaders()).indexOf(1);
  const leader = replicas[leaderIndex]!;
  const survivor = replicas[1 - leaderIndex]!;
  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  await leader.exited;
  // Written while nobody publishes: they wait in the outbox for the new leader.
  for (let i = 0; i < 20; i++) expect((await postJson(`${survivor.url}/register`, { name: `after-${i}`, info: '' })).status).toBe(201);
  await waitFor(async () => (await relayLeader(survivor.url)) === 1, 30_000, 20);
  const takeoverMs = Date.now() - killedAt;
  await waitFor(async () => (await publishedId(db.sql)) === (await lastEventId(db.sql)), 10_000, 20);
  console.info(`relay takeover: the surviving replica led ${takeoverMs} ms after the leader was killed`);
  // Logs are flushed in batches, at least every 250 ms.
  await waitFor(() => survivor.output().includes('event relay leadership taken; publishing'), 5_000, 50);

  const tableIds = (await db.sql`select id::text from user_events order by user_events.id`).map((row) => BigInt(row.id));
  expect(firstAppearances(await readStream(redis, db.eventStream))).toEqual(tableIds);
});

it('a leader that cannot reach Redis steps down, and a replica that can publishes in its place', { timeout: 90_000 }, async () => {
  const scratch = await createTestDatabase('events_step_down');
  const started: Awaited<ReturnType<typeof startUser>>[] = [];
  try {
    const cutOff = await startUser(scratch.name, { REDIS_PORT: await freePort() });
    started.push(cutOff);
    await cutOff.migrated;
    await waitFor(async () => (await relayLeader(cutOff.url)) === 1, 10_000, 20);
    const healthy = await startUser(scratch.name, { MIGRATE_ON_START: 'false' });
    started.push(healthy);
    expect((await postJson(`${cutOff.url}/register`, { name: 'stuck-behind', info: '' })).status).toBe(201);
    await waitFor(async () => (await relayLeader(healthy.url)) === 1, 30_000, 50);
    await waitFor(async () => (await redis.xlen(scratch.eventStream)) === 1, 10_000, 20);
    expect(await relayLeader(cutOff.url)).toBe(0);
    expect(cutOff.logs.lines.some((line) => line.msg === 'event relay leadership lost' && String(line.reason).startsWith('redis unreachable'))).toBe(true);
  } finally {
    await Promise.all(started.map((service) => service.stop()));
    await scratch.drop();
  }
});
