// Read-your-writes across data-service replicas (services/shared/src/cache/index.ts): three
// built replicas as real processes, so one can be paused (SIGSTOP), killed or stopped, and one
// user-service. The in-process tier lives a minute here, so only the protocol can make it let go.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userCacheKeys } from '../services/shared/src/cache/index.ts';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { freePort } from '../scripts/free-port.ts';
import { createTestDatabase, PG, type TestDatabase } from './support/postgres.ts';
import { patchJson, postJson, REDIS_PORT, startUser, testEnv, waitFor } from './support/services.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const LEASE_MS = 1_000;
const tuning = { CACHE_LEASE_MS: LEASE_MS, LOCAL_CACHE_TTL_MS: 60_000 };

interface Replica {
  child: ChildProcessWithoutNullStreams;
  url: string;
  /** Its lease holder id, from its "read lease held" log line. */
  id: string;
  exit: Promise<unknown>;
}

let db: TestDatabase;
let redis: Redis;
let user: Awaited<ReturnType<typeof startUser>>;
const replicas: Replica[] = [];
const keys = () => userCacheKeys(`test:${db.name}:`);

async function startReplica(overrides: Record<string, string | number> = {}): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/services/data/src/main.js'], { env: { PATH: process.env.PATH, ...testEnv(db.name, { PORT: port, ...tuning, ...overrides }) } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => out.includes(`"port":${port},"msg":"listening"`), 10_000, 20);
  await waitFor(() => /"replica":"(\w+)","msg":"read lease held/.test(out), 10_000, 20);
  await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, 10_000, 50);
  const replica = { child, url, id: /"replica":"(\w+)","msg":"read lease held/.exec(out)![1]!, exit };
  replicas.push(replica);
  return replica;
}

async function read(replica: Replica, name: string): Promise<{ info: string; cache: string | null }> {
  const res = await fetch(`${replica.url}/user/${name}`);
  expect(res.status).toBe(200);
  return { info: ((await res.json()) as { info: string }).info, cache: res.headers.get('x-cache') };
}

/** Reads until the replica answers from a cache, so the value sits in its in-process tier. */
async function warm(replica: Replica, name: string, info: string) {
  await read(replica, name);
  expect(await read(replica, name)).toEqual({ info, cache: 'HIT' });
}

/** Redis' clock, in ms: lease ends are recorded on it. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

beforeAll(async () => {
  if (!existsSync('dist/services/data/src/main.js')) throw new Error('run `npm run build` first (npm test does)');
  db = await createTestDatabase('read_your_writes');
  await migrate(db.sql, createLogger('test', 'silent'));
  redis = new Redis({ port: REDIS_PORT, lazyConnect: true });
  await redis.connect();
  user = await startUser(db.name, { ...tuning, MIGRATE_ON_START: 'false' });
});

afterAll(async () => {
  for (const replica of replicas) {
    replica.child.kill('SIGCONT');
    replica.child.kill('SIGKILL');
  }
  await user?.stop();
  redis?.disconnect();
  await db?.drop();
});

describe('read-your-writes across three data-service replicas', () => {
  it('a write waits out a paused replica only until its lease ends, and the replica, resumed, serves no stale hit', async () => {
    // The paused replica's PostgreSQL (and so its NOTIFY) goes through a proxy that will stall:
    // only the protocol, not NOTIFY, can tell it about the write.
    const proxy = await new TcpProxy(PG.port, PG.host).start();
    try {
      const [a, b] = [await startReplica(), await startReplica()];
      const paused = await startReplica({ PGPORT: proxy.port });
      expect((await postJson(`${user.url}/register`, { name: 'Ada', info: 'v1' })).status).toBe(201);
      for (const replica of [a, b, paused]) await warm(replica, 'Ada', 'v1');

      proxy.stall();
      paused.child.kill('SIGSTOP');
      let resumed = false;
      const write = patchJson(`${user.url}/user/Ada`, { info: 'v2' }).then((res) => ({ status: res.status, whilePaused: !resumed }));
      // Far more than one lease: a write that waited for the paused replica itself would still be waiting.
      const resumeLater = setTimeout(() => {
        resumed = true;
        paused.child.kill('SIGCONT');
      }, 5 * LEASE_MS);
      const { status, whilePaused } = await write;
      expect(status).toBe(200);
      expect(whilePaused).toBe(true);

      // A live replica reads the new row and puts it in Redis, where the resumed one may find it.
      expect((await read(a, 'Ada')).info).toBe('v2');
      expect((await read(b, 'Ada')).info).toBe('v2');
      clearTimeout(resumeLater);
      resumed = true;
      paused.child.kill('SIGCONT');
      for (let i = 0; i < 20; i++) expect((await read(paused, 'Ada')).info).toBe('v2');

      // Its PostgreSQL back, it listens again and hears later writes like the others.
      await proxy.restore();
      await waitFor(async () => (await fetch(`${paused.url}/health/ready`)).status === 200, 10_000, 50);
      expect((await patchJson(`${user.url}/user/Ada`, { info: 'v3' })).status).toBe(200);
      for (const replica of [a, b, paused]) expect((await read(replica, 'Ada')).info).toBe('v3');
    } finally {
      for (const replica of replicas.splice(0)) {
        replica.child.kill('SIGCONT');
        replica.child.kill('SIGKILL');
        await replica.exit;
      }
      await proxy.close();
    }
  });

  it('a killed replica blocks writes for at most the rest of its lease, and no longer once it has ended', async () => {
    const [a, b, killed] = [await startReplica(), await startReplica(), await startReplica()];
    expect((await postJson(`${user.url}/register`, { name: 'Bo', info: 'v1' })).status).toBe(201);
    for (const replica of [a, b, killed]) await warm(replica, 'Bo', 'v1');

    killed.child.kill('SIGKILL');
    await killed.exit;
    const killedAt = await redisNow();
    const leaseEnd = Number(await redis.zscore(keys().leases, killed.id));
    // The bound a write waits for it: what is left of one lease, on Redis' clock.
    expect(leaseEnd - killedAt).toBeLessThanOrEqual(LEASE_MS);

    expect((await patchJson(`${user.url}/user/Bo`, { info: 'v2' })).status).toBe(200);
    await waitFor(async () => (await redisNow()) > leaseEnd, 5_000, 20);
    expect((await patchJson(`${user.url}/user/Bo`, { info: 'v3' })).status).toBe(200);
    // The writer dropped the ended lease: later writes wait for the two live replicas only.
    expect(await redis.zscore(keys().leases, killed.id)).toBeNull();
    expect(await redis.zcard(keys().leases)).toBe(2);
    for (const replica of [a, b]) expect((await read(replica, 'Bo')).info).toBe('v3');
  });

  it('a replica stopped with SIGTERM gives its lease back at once, and its replacement serves the latest write', async () => {
    const [a, b] = replicas;
    expect((await postJson(`${user.url}/register`, { name: 'Cy', info: 'v1' })).status).toBe(201);
    for (const replica of [a!, b!]) await warm(replica, 'Cy', 'v1');

    b!.child.kill('SIGTERM');
    await b!.exit;
    replicas.splice(replicas.indexOf(b!), 1);
    expect(await redis.zscore(keys().leases, b!.id)).toBeNull();

    expect((await patchJson(`${user.url}/user/Cy`, { info: 'v2' })).status).toBe(200);
    const replacement = await startReplica();
    expect((await read(replacement, 'Cy')).info).toBe('v2');
    expect((await read(a!, 'Cy')).info).toBe('v2');
    await warm(replacement, 'Cy', 'v2');

    expect((await patchJson(`${user.url}/user/Cy`, { info: 'v3' })).status).toBe(200);
    for (const replica of [a!, replacement]) expect((await read(replica, 'Cy')).info).toBe('v3');
  });
});
