// The realistic workload's load generator, open loop like ../constant-rate.ts: operations leave on
// a fixed schedule whether or not earlier ones were answered, and each is timed from when it was
// due, so a stalled server shows as latency instead of slowing the load (no coordinated omission).
// Reads go round-robin to the data-service replicas, writes (PATCH) to user-service; every read
// of a name written before is checked against the last acknowledged write (staleness.ts).
// Usage: BENCH_WRITE_TOKEN=… node load-generator.ts '<GeneratorConfig as JSON>'; prints one BENCH_RESULT line.
import net from 'node:net';
import { percentile } from '../stats.ts';
import { createStalenessChecker, writtenInfo } from './staleness.ts';
import { seededRandom, zipfSampler } from './zipf.ts';

export interface GeneratorConfig {
  readUrls: string[];
  writeUrl: string;
  rate: number;
  warmupSeconds: number;
  seconds: number;
  users: number;
  namePrefix: string;
  zipfExponent: number;
  /** Share of reads that ask for a name nobody has (drawn from their own Zipf over unknownNames). */
  unknownShare: number;
  unknownNames: number;
  unknownPrefix: string;
  writeShare: number;
  seed: number;
}

type Operation = 'read' | 'read-unknown' | 'write';

interface Pending {
  operation: Operation;
  name: string;
  dueAt: number;
  /** When the generator got to it: later than dueAt when the generator itself is starved. */
  firedAt: number;
  sentAt: number;
  measured: boolean;
  /** For writes: the sequence number written. */
  sequence: number;
  request: string;
}

interface Connection {
  socket: net.Socket;
  pool: Pool;
  current: Pending | undefined;
  buffer: string;
  idleSince: number;
}

interface Pool {
  host: string;
  port: number;
  idle: Connection[];
  open: number;
  backlog: Pending[];
}

const MAX_CONNECTIONS_PER_TARGET = 128;
const IDLE_REUSE_MS = 4_000;
const WRITE_PADDING = 'updated by the realistic benchmark: a line of text the size of a short profile';

const config = JSON.parse(process.argv[2]!) as GeneratorConfig;
// Sent as `Authorization: Bearer …` on writes; from the environment so it never shows in `ps`.
const token = process.env.BENCH_WRITE_TOKEN || undefined;
const random = seededRandom(config.seed);
const knownRank = zipfSampler(config.users, config.zipfExponent, random);
const unknownRank = zipfSampler(config.unknownNames, config.zipfExponent, random);
const staleness = createStalenessChecker();
const writing = new Set<string>();
let writeSequence = 0;
let writesAcknowledged = 0;
let readTurn = 0;

const poolFor = (url: string): Pool => {
  const { hostname, port } = new URL(url);
  if (hostname !== '127.0.0.1') throw new Error(`the load generator only talks to 127.0.0.1, not ${hostname}`);
  return { host: hostname, port: Number(port), idle: [], open: 0, backlog: [] };
};
const readPools = config.readUrls.map(poolFor);
const writePool = poolFor(config.writeUrl);

const latencies: Record<Operation, number[]> = { read: [], 'read-unknown': [], write: [] };
const counts = { sent: 0, settled: 0, reachedPostgres: { read: 0, 'read-unknown': 0 }, perReplica: readPools.map(() => 0) };
const failures: Record<string, number> = {};
const tickLags: number[] = [];
const connectionWaits: number[] = [];
const total = Math.round(config.rate * (config.warmupSeconds + config.seconds));
const measuredFrom = Math.round(config.rate * config.warmupSeconds);
let allSettled: () => void;
const finished = new Promise<void>((resolve) => (allSettled = resolve));

/** Counted in the warm-up too, like stale reads. */
function fail(pending: Pending, why: string) {
  failures[`${pending.operation} ${why}`] = (failures[`${pending.operation} ${why}`] ?? 0) + 1;
}

function settle(pending: Pending, status: number, headers: string, body: string) {
  const now = performance.now();
  const ok = status === (pending.operation === 'read-unknown' ? 404 : 200);
  if (pending.operation === 'write') {
    writing.delete(pending.name);
    if (ok) {
      staleness.acknowledge(pending.name, pending.sequence, now);
      writesAcknowledged++;
    } else fail(pending, `status ${status}`);
  } else {
    if (!ok) fail(pending, `status ${status}`);
    const cache = /\r\nx-cache: *(\w+)/i.exec(headers)?.[1];
    // Checked in the warm-up too: a stale read is wrong whenever it happens.
    if (status === 200) staleness.check(pending.name, pending.sentAt, (JSON.parse(body) as { info: string }).info, cache);
    if (pending.measured && cache === 'MISS') counts.reachedPostgres[pending.operation]++;
  }
  if (pending.measured && ok) latencies[pending.operation].push(now - pending.dueAt);
  if (++counts.settled === total) allSettled();
}

function connect(pool: Pool): Connection {
  pool.open++;
  const connection: Connection = { socket: net.connect({ host: pool.host, port: pool.port, noDelay: true }), pool, current: undefined, buffer: '', idleSince: performance.now() };
  connection.socket.setEncoding('latin1');
  connection.socket.on('data', (chunk: string) => {
    connection.buffer += chunk;
    const headerEnd = connection.buffer.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    const headers = connection.buffer.slice(0, headerEnd);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headers)?.[1] ?? 0);
    if (connection.buffer.length < headerEnd + 4 + length) return;
    const body = Buffer.from(connection.buffer.slice(headerEnd + 4, headerEnd + 4 + length), 'latin1').toString('utf8');
    connection.buffer = '';
    const pending = connection.current!;
    connection.current = undefined;
    settle(pending, Number(headers.slice(9, 12)), headers, body);
    release(connection);
  });
  connection.socket.on('error', () => {});
  connection.socket.on('close', () => {
    pool.open--;
    const pending = connection.current;
    connection.current = undefined;
    const index = pool.idle.indexOf(connection);
    if (index >= 0) pool.idle.splice(index, 1);
    if (pending) {
      if (pending.operation === 'write') writing.delete(pending.name);
      fail(pending, 'connection closed');
      if (++counts.settled === total) allSettled();
    }
    // Operations waiting for a connection must not wait for one that is gone.
    const waiting = pool.backlog.shift();
    if (waiting) send(connect(pool), waiting);
  });
  return connection;
}

function send(connection: Connection, pending: Pending) {
  connection.current = pending;
  pending.sentAt = performance.now();
  if (pending.measured) {
    tickLags.push(pending.firedAt - pending.dueAt);
    connectionWaits.push(pending.sentAt - pending.firedAt);
  }
  connection.socket.write(pending.request);
}

function release(connection: Connection) {
  const next = connection.pool.backlog.shift();
  if (next) send(connection, next);
  else {
    connection.idleSince = performance.now();
    connection.pool.idle.push(connection);
  }
}

/**
 * An idle connection the server may be closing right now is not used: Node servers close
 * keep-alive connections idle for 5 s (they say so in `Keep-Alive: timeout=5`), and a request
 * written as the close crosses it would fail for a reason of the generator's making.
 */
function freshIdle(pool: Pool): Connection | undefined {
  for (let connection = pool.idle.pop(); connection; connection = pool.idle.pop()) {
    if (performance.now() - connection.idleSince < IDLE_REUSE_MS) return connection;
    connection.socket.destroy();
  }
  return undefined;
}

function dispatch(pool: Pool, pending: Pending) {
  const connection = freshIdle(pool) ?? (pool.open < MAX_CONNECTIONS_PER_TARGET ? connect(pool) : undefined);
  if (connection) send(connection, pending);
  else pool.backlog.push(pending);
}

/** Writes to one name are kept serial, so its acknowledgements arrive in commit order. */
function writableName(): string | undefined {
  for (let attempt = 0; attempt < 20; attempt++) {
    const name = `${config.namePrefix}${knownRank()}`;
    if (!writing.has(name)) return name;
  }
  return undefined;
}

function next(n: number, dueAt: number): void {
  const measured = n >= measuredFrom;
  const base = { dueAt, firedAt: performance.now(), sentAt: 0, measured, sequence: 0 };
  if (random() < config.writeShare) {
    const name = writableName();
    if (name) {
      writing.add(name);
      const sequence = ++writeSequence;
      const body = JSON.stringify({ info: writtenInfo(sequence, WRITE_PADDING) });
      const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
      const request = `PATCH /user/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      dispatch(writePool, { ...base, operation: 'write', name, sequence, request });
      return;
    }
  }
  const unknown = random() < config.unknownShare;
  const name = unknown ? `${config.unknownPrefix}${unknownRank()}` : `${config.namePrefix}${knownRank()}`;
  const replica = readTurn++ % readPools.length;
  if (measured) counts.perReplica[replica]!++;
  dispatch(readPools[replica]!, { ...base, operation: unknown ? 'read-unknown' : 'read', name, request: `GET /user/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` });
}

// A few connections open before the clock starts, so the first requests do not pay for connecting.
for (const pool of [...readPools, writePool]) for (let i = 0; i < 16; i++) pool.idle.push(connect(pool));
await new Promise((resolve) => setTimeout(resolve, 200));

const startedAt = performance.now();
let measuredStartedAt = config.warmupSeconds === 0 ? startedAt : Number.NaN;
const ticker = setInterval(() => {
  const now = performance.now();
  const due = Math.min(total, Math.floor(((now - startedAt) * config.rate) / 1000));
  for (; counts.sent < due; counts.sent++) {
    // Each operation is due at its own slot in the schedule, not at the tick that sent it.
    const dueAt = startedAt + (counts.sent * 1000) / config.rate;
    if (counts.sent === measuredFrom && Number.isNaN(measuredStartedAt)) measuredStartedAt = dueAt;
    next(counts.sent, dueAt);
  }
  if (counts.sent === total) clearInterval(ticker);
}, 1);

const deadline = setTimeout(() => allSettled(), (config.warmupSeconds + config.seconds + 10) * 1000);
await finished;
clearTimeout(deadline);
const measuredSeconds = (performance.now() - measuredStartedAt) / 1000;

const summary = (values: number[]) => {
  values.sort((a, b) => a - b);
  return { count: values.length, p50Ms: percentile(values, 50), p99Ms: percentile(values, 99), p999Ms: percentile(values, 99.9), maxMs: values.at(-1) ?? Number.NaN };
};
const measuredReads = latencies.read.length + latencies['read-unknown'].length;
const result = {
  seconds: measuredSeconds,
  operations: Object.values(latencies).reduce((sum, values) => sum + values.length, 0),
  read: summary(latencies.read),
  readUnknown: summary(latencies['read-unknown']),
  write: summary(latencies.write),
  reachedPostgres: {
    reads: (counts.reachedPostgres.read + counts.reachedPostgres['read-unknown']) / measuredReads,
    known: counts.reachedPostgres.read / latencies.read.length,
    unknown: counts.reachedPostgres['read-unknown'] / latencies['read-unknown'].length,
  },
  perReplica: counts.perReplica,
  unsettled: total - counts.settled,
  failures,
  // How late the generator got to each operation (a starved load core), and how long operations
  // then waited for a free connection (every connection busy with a slow answer).
  tickLag: summary(tickLags),
  connectionWait: summary(connectionWaits),
  writesAcknowledged,
  staleness: {
    checked: staleness.checked,
    stale: staleness.stale.length,
    fromCache: staleness.stale.filter((read) => read.cache === 'HIT').length,
    latestAfterAckMs: staleness.stale.reduce((latest, read) => Math.max(latest, read.sentAfterAckMs), 0),
    examples: staleness.stale.slice(0, 5),
  },
};
process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
for (const pool of [...readPools, writePool]) for (const connection of pool.idle) connection.socket.destroy();
process.exit(0);
