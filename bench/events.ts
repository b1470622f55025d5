// `npm run bench:events`: what user events cost and how fast they go out, on a scratch database,
// with user-service as a built process (pinned like the other benchmarks):
// - write throughput (POST /register, closed loop) with events on against off, in alternating rounds;
// - relay throughput: a filled outbox drained by one relay, in events per second;
// - lag at a fixed 500 writes/s: from the write's commit-time stamp (occurred_at) to a stream reader's receipt.
// Writes the "User events" section of bench/RESULTS.md (which `npm run bench` keeps). Measures; asserts nothing.
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../scripts/free-port.ts';
import { connect, createScratchBackends, REDIS, type ScratchBackends } from '../scripts/scratch-backends.ts';
import { signToken } from '../services/shared/src/auth/index.ts';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { decodeStreamEntry } from '../services/shared/src/events/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { cpuModel, cores, killAll, loadAverage, pinning, runBench, startServer, type Server } from './processes.ts';
import { EVENTS_END, EVENTS_START } from './report.ts';
import { percentile } from './stats.ts';

const env = process.env;
const ROUND_MS = Number(env.ROUND_MS ?? 8_000);
const WARMUP_MS = Number(env.WARMUP_MS ?? 2_000);
const ROUNDS = Number(env.ROUNDS ?? 3);
const CONCURRENCY = Number(env.CONCURRENCY ?? 32);
const RELAY_EVENTS = Number(env.RELAY_EVENTS ?? 100_000);
const LAG_RATE = Number(env.LAG_RATE ?? 500);
const LAG_SECONDS = Number(env.LAG_SECONDS ?? 20);

const logDir = mkdtempSync(join(tmpdir(), 'bench-events-'));
const servers: Server[] = [];
let scratch: ScratchBackends | undefined;

async function startUser(name: string, extra: Record<string, string>): Promise<Server> {
  const server = await startServer({
    name,
    args: ['dist/services/user/src/main.js'],
    port: await freePort(),
    env: { ...scratch!.env, MIGRATE_ON_START: 'false', LOG_LEVEL: 'warn', ...extra },
    logFile: join(logDir, `${name}.log`),
  });
  servers.push(server);
  return server;
}

async function stop(server: Server): Promise<void> {
  await server.stop();
  servers.splice(servers.indexOf(server), 1);
}

/** Registers unique names from CONCURRENCY workers until `untilMs`; returns how many were answered 201. */
async function registerLoop(url: string, authorization: string, prefix: string, untilMs: number): Promise<{ created: number; failed: number }> {
  let next = 0;
  let created = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < untilMs) {
        const res = await fetch(`${url}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization },
          body: JSON.stringify({ name: `${prefix}${next++}`, info: 'registered by the benchmark' }),
        }).catch(() => undefined);
        await res?.arrayBuffer();
        if (res?.status === 201) created++;
        else failed++;
      }
    }),
  );
  return { created, failed };
}

async function writeThroughput(authorization: string) {
  const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
  // off, on, on, off, …: neither setting always runs on a warmer database.
  const order = Array.from({ length: ROUNDS }, (_, i) => (i % 2 === 0 ? ['off', 'on'] : ['on', 'off'])).flat() as ('on' | 'off')[];
  for (const [round, setting] of order.entries()) {
    const server = await startUser(`user-events-${setting}-${round}`, { EVENTS_ENABLED: setting === 'on' ? 'true' : 'false' });
    await registerLoop(server.url, authorization, `warm-${round}-`, performance.now() + WARMUP_MS);
    const started = performance.now();
    const { created, failed } = await registerLoop(server.url, authorization, `w-${round}-`, started + ROUND_MS);
    const seconds = (performance.now() - started) / 1000;
    if (failed) throw new Error(`${failed} registers failed with events ${setting}`);
    rates[setting].push(created / seconds);
    await stop(server);
    process.stdout.write(`writes, events ${setting}: ${(created / seconds).toFixed(0)}/s\n`);
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return { on: mean(rates.on), off: mean(rates.off), rounds: ROUNDS };
}

async function relayThroughput(sql: ReturnType<typeof connect>) {
  // Whatever the write rounds published is done; only the filled events count.
  const [{ base }] = (await sql`select coalesce(max(id), 0)::text as base from user_events`) as unknown as [{ base: string }];
  await sql`update user_events_relay set published_id = ${base}`;
  await sql`
    insert into user_events (type, name, payload)
    select 'user.updated', 'relay-' || i,
           jsonb_build_object('name', 'relay-' || i, 'info', 'filled by the benchmark', 'createdAt', '2026-01-01T00:00:00.000Z', 'updatedAt', '2026-01-01T00:00:00.000Z')
    from generate_series(1, ${RELAY_EVENTS}) as i`;
  const [{ last }] = (await sql`select max(id)::text as last from user_events`) as unknown as [{ last: string }];
  const published = async () => BigInt(((await sql`select published_id::text as id from user_events_relay`) as unknown as [{ id: string }])[0].id);
  const server = await startUser('user-relay', {});
  let first: number | undefined;
  for (;;) {
    const at = await published();
    if (first === undefined && at > BigInt(base)) first = performance.now();
    if (at === BigInt(last)) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - first!) / 1000;
  await stop(server);
  const perSecond = RELAY_EVENTS / seconds;
  process.stdout.write(`relay: ${RELAY_EVENTS} events in ${seconds.toFixed(2)} s, ${perSecond.toFixed(0)}/s\n`);
  return { events: RELAY_EVENTS, seconds, perSecond };
}

async function lagAtFixedRate(authorization: string) {
  const server = await startUser('user-lag', {});
  const reader = new Redis({ ...REDIS });
  const lags: number[] = [];
  const total = LAG_RATE * LAG_SECONDS;
  let reading = true;
  const readLoop = (async () => {
    let last = '$';
    while (reading) {
      const reply = (await reader.xread('COUNT', 1000, 'BLOCK', 500, 'STREAMS', scratch!.eventStream, last)) as [string, [string, string[]][]][] | null;
      const received = Date.now();
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        const event = decodeStreamEntry(fields);
        if (event.name.startsWith('lag-')) lags.push(received - Date.parse(event.occurredAt));
        last = id;
      }
    }
  })();
  // Open loop: each write leaves on its schedule, answered or not.
  const started = performance.now();
  const writes: Promise<unknown>[] = [];
  let failed = 0;
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / LAG_RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    writes.push(
      fetch(`${server.url}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ name: `lag-${n}`, info: '' }),
      }).then(
        async (res) => {
          await res.arrayBuffer();
          if (res.status !== 201) failed++;
        },
        () => failed++,
      ),
    );
  }
  await Promise.all(writes);
  const deadline = Date.now() + 10_000;
  while (lags.length < total - failed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  reading = false;
  await readLoop;
  reader.disconnect();
  await stop(server);
  const sorted = [...lags].sort((a, b) => a - b);
  const result = { rate: LAG_RATE, seconds: LAG_SECONDS, writes: total, failed, received: lags.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
  process.stdout.write(`lag at ${LAG_RATE}/s: p50 ${result.p50} ms, p99 ${result.p99} ms (${result.received} of ${total} received)\n`);
  return result;
}

function render(write: Awaited<ReturnType<typeof writeThroughput>>, relay: Awaited<ReturnType<typeof relayThroughput>>, lag: Awaited<ReturnType<typeof lagAtFixedRate>>): string {
  const ratio = write.on / write.off;
  return [
    EVENTS_START,
    '## User events',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench:events\` on ${cores} cores (${cpuModel()}), node ${process.version}, load average at the end ${loadAverage()}; ${pinning.note}.`,
    '',
    '| measurement | result | target |',
    '|---|---|---|',
    `| POST /register, events on / off (closed loop, ${CONCURRENCY} clients, ${write.rounds}×${ROUND_MS / 1000} s each, alternating) | ${write.on.toFixed(0)} / ${write.off.toFixed(0)} per s = **${ratio.toFixed(2)}×** | ≥ 0.85× ${ratio >= 0.85 ? '(met)' : '(missed)'} |`,
    `| relay throughput (one relay draining ${relay.events} events from the outbox to the stream) | **${relay.perSecond.toFixed(0)} events/s** (${relay.seconds.toFixed(2)} s) | — |`,
    `| lag, commit to a stream reader, at ${lag.rate} writes/s for ${lag.seconds} s (open loop) | p50 ${lag.p50} ms, **p99 ${lag.p99} ms**, max ${lag.max} ms; ${lag.received} of ${lag.writes} received, ${lag.failed} writes failed | p99 < 100 ms ${lag.p99 < 100 ? '(met)' : '(missed)'} |`,
    '',
    '- The lag starts at `occurredAt` (the write transaction\'s start, PostgreSQL\'s clock) and ends when the reader, blocked in `XREAD`, receives the entry (the same host\'s clock): it includes the commit, the NOTIFY, the relay\'s read and its `MULTI`/`XADD`.',
    '- Load generator: `fetch` workers in the benchmark process; the server runs as the built `dist/services/user/src/main.js`.',
    EVENTS_END,
  ].join('\n');
}

function splice(existing: string, section: string): string {
  const start = existing.indexOf(EVENTS_START);
  const end = existing.indexOf(EVENTS_END);
  if (start >= 0 && end > start) return existing.slice(0, start) + section + existing.slice(end + EVENTS_END.length);
  return `${existing.replace(/\n*$/, '')}\n\n${section}\n`;
}

async function main(): Promise<void> {
  if (!existsSync('dist/services/user/src/main.js')) throw new Error('run `npm run build` first (npm run bench:events does)');
  scratch = await createScratchBackends('bench_events');
  const sql = connect(scratch.database, 2);
  try {
    await migrate(sql, createLogger('bench', 'silent'));
    const authorization = `Bearer ${await signToken({ secret: scratch.env.JWT_SECRET!, scope: 'users:write', ttlSeconds: 3_600, subject: 'bench' })}`;
    const write = await writeThroughput(authorization);
    const relay = await relayThroughput(sql);
    const lag = await lagAtFixedRate(authorization);
    const section = render(write, relay, lag);
    process.stdout.write(`\n${section}\n`);
    const file = 'bench/RESULTS.md';
    writeFileSync(file, splice(existsSync(file) ? readFileSync(file, 'utf8') : '', section));
    process.stdout.write(`\nwritten to ${file} (section "User events")\n`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function cleanUp(): Promise<void> {
  for (const server of [...servers]) await server.stop().catch(() => {});
  killAll();
  await scratch?.dispose().catch(() => {});
}

await runBench('bench:events', { main, cleanUp, watchdogMs: 10 * 60_000, logDir });
