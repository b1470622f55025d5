// The consumer example on a real stream: a consumer that dies with messages unacknowledged leaves
// them to another (XAUTOCLAIM), every event is applied, and the group's pending list ends empty.
// And `npm run events`, the way to watch the stream from a shell.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumeUserEvents, createUserDirectory } from '../../examples/user-events/consumer.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { postJson, REDIS_PORT, startUser, testEnv, waitFor } from '../support/services.ts';

let db: TestDatabase;
let redis: Redis;
let service: Awaited<ReturnType<typeof startUser>>;

beforeAll(async () => {
  db = await createTestDatabase('events_consumer');
  redis = new Redis({ port: REDIS_PORT });
  service = await startUser(db.name);
  await service.migrated;
  for (let i = 0; i < 30; i++) await postJson(`${service.url}/register`, { name: `member-${i}`, info: `#${i}` });
  await waitFor(async () => (await redis.xlen(db.eventStream)) === 30, 10_000);
});
afterAll(async () => {
  await service?.stop();
  redis?.disconnect();
  await db?.drop();
});

describe('the consumer example', () => {
  it('claims what a dead consumer left pending, applies every event, and leaves nothing pending', async () => {
    // A consumer reads ten messages and dies before acknowledging them.
    await redis.xgroup('CREATE', db.eventStream, 'directory', '0', 'MKSTREAM');
    const taken = (await redis.xreadgroup('GROUP', 'directory', 'dead', 'COUNT', 10, 'STREAMS', db.eventStream, '>')) as [string, [string, string[]][]][];
    expect(taken[0]![1]).toHaveLength(10);

    const directory = createUserDirectory();
    const handled: string[] = [];
    const stop = new AbortController();
    const consumer = new Redis({ port: REDIS_PORT });
    try {
      await consumeUserEvents({
        redis: consumer,
        stream: db.eventStream,
        group: 'directory',
        consumer: 'alive',
        signal: stop.signal,
        claimIdleMs: 0,
        handle: (event) => {
          directory.apply(event);
          handled.push(event.name);
          if (handled.length === 30) stop.abort();
        },
      });
    } finally {
      consumer.disconnect();
    }
    // The dead consumer's ten come first (claimed), then the twenty nobody had read.
    const deadNames = taken[0]![1].map(([, fields]) => fields[fields.indexOf('event') + 1]!).map((json) => JSON.parse(json).name as string);
    expect(handled.slice(0, 10)).toEqual(deadNames);
    expect(new Set(handled).size).toBe(30);
    const pending = (await redis.xpending(db.eventStream, 'directory')) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    const table = new Map((await db.sql`select name, info from users`).map((row) => [row.name as string, row.info as string]));
    expect(directory.view()).toEqual(table);
  });
});

describe('npm run events', () => {
  const run = (args: string[]) => spawn(process.execPath, ['services/user/src/events/follow-cli.ts', ...args], { env: { PATH: process.env.PATH, ...testEnv(db.name) } });

  it('prints the latest events as JSON lines, oldest first', async () => {
    const child = run(['--count', '3']);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(out.trim().split('\n').map((line) => JSON.parse(line).name)).toEqual(['member-27', 'member-28', 'member-29']);
  });

  it('with --follow, goes on printing events as they are published', async () => {
    const child = run(['--follow', '--count', '1']);
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    try {
      await waitFor(() => out.includes('member-29'), 10_000, 20);
      await postJson(`${service.url}/register`, { name: 'newcomer', info: 'just arrived' });
      await waitFor(() => out.includes('newcomer'), 10_000, 20);
      const last = JSON.parse(out.trim().split('\n').at(-1)!);
      expect(last).toMatchObject({ type: 'user.registered', name: 'newcomer', payload: { info: 'just arrived' } });
    } finally {
      child.kill('SIGINT');
      await once(child, 'exit');
    }
  });

  it('names a bad option and exits 1', async () => {
    const child = run(['--count', 'many']);
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(err).toContain('--count: expected a number from 1 to 10000');
  });
});
