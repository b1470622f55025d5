// Child processes of the benchmark: pinned to a core, watched for readiness and memory, and
// always stopped, even when the run fails.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export const cores = availableParallelism();

/** With two or more cores the servers get the last core and the load generators the first. */
export const pinning = cores >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
  ? { server: String(cores - 1), load: '0', note: `servers pinned to core ${cores - 1}, load generators to core 0 (taskset); PostgreSQL and Redis unpinned` }
  : { server: undefined, load: undefined, note: 'no pinning (taskset missing or a single core)' };

/** Prefixes a command with taskset when pinning is possible. */
export function pinned(cpu: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];
}

const running = new Set<ChildProcess>();

export interface Server {
  name: string;
  url: string;
  pid: number;
  /** Milliseconds from spawn to the first 200 from /health/ready. */
  readyMs: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface ServerSpec {
  name: string;
  /** Node arguments: the script and anything after it. */
  args: string[];
  port: number;
  env: Record<string, string>;
  logFile: string;
  nodeOptions?: string[];
}

export async function startServer({ name, args, port, env, logFile, nodeOptions = [] }: ServerSpec): Promise<Server> {
  // Another process on the port would answer the readiness probe in this server's place.
  await assertPortFree(port);
  const log = createWriteStream(logFile);
  await once(log, 'open');
  const [command, argv] = pinned(pinning.server, process.execPath, [...nodeOptions, ...args]);
  const started = performance.now();
  // taskset execs node, so the pid is the server's own (its RSS is what /proc reports).
  const child = spawn(command, argv, { env: { PATH: process.env.PATH, ...env, PORT: String(port) }, stdio: ['ignore', log, log] });
  running.add(child);
  const exited = once(child, 'exit').then(() => running.delete(child));
  const url = `http://127.0.0.1:${port}`;
  const readyMs = await waitReady(url, child, started);
  return {
    name,
    url,
    pid: child.pid!,
    readyMs,
    logFile,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}

async function assertPortFree(port: number): Promise<void> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', () => reject(new Error(`port ${port} is in use; stop what listens there and run again`)));
    probe.listen(port, () => resolve());
  });
  await new Promise((resolve) => probe.close(resolve));
}

async function waitReady(url: string, child: ChildProcess, started: number): Promise<number> {
  while (performance.now() - started < 15_000) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready`);
    const status = await fetch(`${url}/health/ready`).then((r) => r.status, () => 0);
    if (status === 200) return performance.now() - started;
    await sleep(5);
  }
  throw new Error(`${url} not ready within 15 s`);
}

/** Resident set size in MB, from /proc (Linux). */
export function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Samples RSS every 200 ms until stopped; returns the peak. */
export function watchRss(pid: number): () => number {
  let peak = 0;
  const sample = () => {
    try {
      peak = Math.max(peak, rssMb(pid));
    } catch {
      // The process is gone; the peak so far stands.
    }
  };
  const timer = setInterval(sample, 200);
  sample();
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

export interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (used for wrk, migrations and the other generators). */
export async function runCommand(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Output> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  running.delete(child);
  return { code, stdout, stderr };
}

/** Last resort on failure or Ctrl-C: nothing the benchmark started outlives it. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function parseResult<T>(output: Output, what: string): T {
  const line = output.stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`${what} printed no result (exit ${output.code}): ${output.stderr.trim().slice(-500)}`);
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as T;
}

/** The 1-minute load average: other work on the machine shares the cores a run measures. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
}

export function cpuModel(): string {
  const match = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return match?.[1]?.trim() ?? 'unknown';
}

/**
 * Runs a benchmark's `main` and then `cleanUp` exactly once, however the run ends: done, failed,
 * Ctrl-C, SIGTERM, or stopped by the watchdog after `watchdogMs`. Exits the process with its code.
 */
export async function runBench(name: string, { main, cleanUp, watchdogMs, logDir }: { main: () => Promise<void>; cleanUp: () => Promise<void>; watchdogMs: number; logDir: string }): Promise<void> {
  let cleaning: Promise<void> | undefined;
  const finish = (code: number) => (cleaning ??= cleanUp().finally(() => process.exit(code)));
  process.once('SIGINT', () => void finish(130));
  process.once('SIGTERM', () => void finish(143));
  const watchdog = setTimeout(() => {
    process.stderr.write(`${name} still running after ${Math.round(watchdogMs / 60_000)} minutes; stopping\n`);
    void finish(1);
  }, watchdogMs);
  try {
    await main();
    clearTimeout(watchdog);
    await finish(0);
  } catch (error) {
    process.stderr.write(`${name} failed: ${(error as Error).stack ?? error}\nserver logs: ${logDir}\n`);
    await finish(1);
  }
}
