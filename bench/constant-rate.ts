// An open-loop load generator (wrk2's idea): requests leave on a fixed schedule whether or not
// earlier ones have been answered, so a slow server cannot slow the load down and hide its own
// latency. Raw keep-alive sockets and a minimal response parser keep the generator itself cheap.
// Usage: node constant-rate.ts URL RATE SECONDS PATH_PREFIX FIRST COUNT
import net from 'node:net';
import { printResult } from './stats.ts';

const [base, rateArg, secondsArg, pathPrefix, firstArg, countArg] = process.argv.slice(2);
const target = new URL(base!);
const rate = Number(rateArg);
const total = Math.round(rate * Number(secondsArg));
const first = Number(firstArg);
const count = Number(countArg);
const MAX_CONNECTIONS = 256;

interface Connection {
  socket: net.Socket;
  /** When the request now on this connection was due; undefined while idle. */
  dueAt: number | undefined;
  pending: string;
}

const idle: Connection[] = [];
let open = 0;
/** Due times of requests waiting for a free connection. */
const backlog: { n: number; dueAt: number }[] = [];
const latencies: number[] = [];
let sent = 0;
let settled = 0;
let failures = 0;
let allSettled: () => void;
const finished = new Promise<void>((resolve) => (allSettled = resolve));

const requestFor = (n: number) => `GET ${pathPrefix}${first + (n % count)} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`;

function settle(ok: boolean, dueAt: number) {
  if (ok) latencies.push(performance.now() - dueAt);
  else failures++;
  if (++settled === total) allSettled();
}

function connect(): Connection {
  open++;
  const connection: Connection = { socket: net.connect({ host: target.hostname, port: Number(target.port), noDelay: true }), dueAt: undefined, pending: '' };
  connection.socket.setEncoding('latin1');
  connection.socket.on('data', (chunk: string) => {
    connection.pending += chunk;
    const headerEnd = connection.pending.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    const length = Number(/content-length: *(\d+)/i.exec(connection.pending.slice(0, headerEnd))?.[1] ?? 0);
    if (connection.pending.length < headerEnd + 4 + length) return;
    const ok = connection.pending.startsWith('HTTP/1.1 200');
    connection.pending = '';
    const dueAt = connection.dueAt!;
    connection.dueAt = undefined;
    settle(ok, dueAt);
    release(connection);
  });
  connection.socket.on('error', () => {});
  connection.socket.on('close', () => {
    open--;
    if (connection.dueAt !== undefined) settle(false, connection.dueAt);
    connection.dueAt = undefined;
    const index = idle.indexOf(connection);
    if (index >= 0) idle.splice(index, 1);
  });
  return connection;
}

function send(connection: Connection, n: number, dueAt: number) {
  connection.dueAt = dueAt;
  connection.socket.write(requestFor(n));
}

function release(connection: Connection) {
  const next = backlog.shift();
  if (next) send(connection, next.n, next.dueAt);
  else idle.push(connection);
}

function fire(n: number, dueAt: number) {
  const connection = idle.pop() ?? (open < MAX_CONNECTIONS ? connect() : undefined);
  if (connection) send(connection, n, dueAt);
  else backlog.push({ n, dueAt });
}

for (let i = 0; i < 32; i++) idle.push(connect());
await new Promise((resolve) => setTimeout(resolve, 200));

// Each request is timed from when it was due (at most a tick late), not from when a socket was
// free: waiting for a connection is latency a client would see.
const startedAt = performance.now();
const ticker = setInterval(() => {
  const now = performance.now();
  const due = Math.min(total, Math.floor(((now - startedAt) * rate) / 1000));
  while (sent < due) fire(sent++, now);
  if (sent === total) clearInterval(ticker);
}, 1);

const deadline = setTimeout(() => allSettled(), (Number(secondsArg) + 10) * 1000);
await finished;
clearTimeout(deadline);
const seconds = (performance.now() - startedAt) / 1000;
printResult(latencies, seconds, { maxMs: latencies.reduce((max, ms) => Math.max(max, ms), 0), failures: failures + (total - settled) });
for (const connection of idle) connection.socket.destroy();
process.exit(0);
