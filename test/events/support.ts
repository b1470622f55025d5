import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type postgres from 'postgres';
import { freePort } from '../../scripts/free-port.ts';
import { decodeStreamEntry, type UserEvent } from '../../services/shared/src/events/index.ts';
import { testEnv, waitFor } from '../support/services.ts';

const USER_ENTRY = 'dist/services/user/src/main.js';

export interface UserProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  output: () => string;
  exited: Promise<unknown>;
}

/** The built user-service as a process of its own, so a test can SIGKILL it like a crashed pod. */
export async function startUserProcess(database: string, overrides: Record<string, string | number> = {}): Promise<UserProcess> {
  if (!existsSync(USER_ENTRY)) throw new Error('run `npm run build` first (npm test does)');
  const port = await freePort();
  const child = spawn(process.execPath, [USER_ENTRY], { env: { PATH: process.env.PATH, ...testEnv(database, { PORT: port, ...overrides }) } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => out.includes(`"port":${port},"msg":"listening"`), 15_000, 20);
  await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, 15_000, 50);
  return { child, url, output: () => out, exited };
}

/** user_events_relay_leader of a running service, from its /metrics; undefined when it does not answer. */
export async function relayLeader(url: string): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const match = /^user_events_relay_leader\{[^}]*\} (\d)$/m.exec(await res.text());
  return match ? Number(match[1]) : undefined;
}

/** Every entry of the stream, decoded and validated, in stream order. */
export async function readStream(redis: Redis, stream: string): Promise<UserEvent[]> {
  const events: UserEvent[] = [];
  for (let from = '-'; ; ) {
    const page = await redis.xrange(stream, from, '+', 'COUNT', 5_000);
    for (const [, fields] of page) events.push(decodeStreamEntry(fields));
    if (page.length < 5_000) return events;
    from = `(${page.at(-1)![0]}`;
  }
}

export const publishedId = async (sql: postgres.Sql): Promise<bigint> => BigInt((await sql`select published_id::text as id from user_events_relay`)[0]!.id);
export const lastEventId = async (sql: postgres.Sql): Promise<bigint> => BigInt((await sql`select coalesce(max(id), 0)::text as id from user_events`)[0]!.id);

/** The outbox ids in the order of the stream, each kept at its first appearance: what a deduplicating consumer sees. */
export function firstAppearances(events: UserEvent[]): bigint[] {
  const seen = new Set<string>();
  const ids: bigint[] = [];
  for (const event of events) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    ids.push(BigInt(event.id));
  }
  return ids;
}

export const isIncreasing = (ids: bigint[]): boolean => ids.every((id, i) => i === 0 || ids[i - 1]! < id);
