// Closed-loop load with wrk: fixed connections and duration, one thread on the load core.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseResult, pinned, pinning, runCommand } from './processes.ts';

const script = fileURLToPath(new URL('./load.lua', import.meta.url));

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses outside 2xx/3xx (expected for the 404 scenario). */
  non2xx: number;
  socketErrors: number;
  /** Names the script used: for the miss scenario, how far into the seeded range it went. */
  issued: number;
}

export type LoadMode =
  | { mode: 'cycle'; prefix: string; first: number; count: number }
  | { mode: 'sequence'; prefix: string; first: number }
  /** token: a bearer token with the users:write scope, as every write needs one. */
  | { mode: 'register'; prefix: string; token: string };

/** Installs wrk from Debian when it is missing and we may; returns its version line. */
export function ensureWrk(): string {
  const probe = () => spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  let found = probe();
  if (found.error && process.getuid?.() === 0) {
    process.stdout.write('wrk is missing; installing the Debian package\n');
    spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    found = probe();
  }
  if (found.error) throw new Error('wrk is not installed (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)');
  return `${found.stdout}${found.stderr}`.split('\n')[0]!.trim();
}

export async function wrk(url: string, load: LoadMode, { connections, seconds }: { connections: number; seconds: number }): Promise<LoadResult> {
  const args = [load.mode, load.prefix, 'first' in load ? String(load.first) : '0', 'count' in load ? String(load.count) : '1', 'token' in load ? load.token : ''];
  const [command, argv] = pinned(pinning.load, 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, url, '--', ...args]);
  const output = await runCommand(command, argv, {}, (seconds + 30) * 1000);
  const raw = parseResult<{ requests: number; durationUs: number; p50Us: number; p99Us: number; non2xx: number; socketErrors: number; issued: number }>(output, 'wrk');
  return {
    rps: raw.requests / (raw.durationUs / 1e6),
    p50Ms: raw.p50Us / 1000,
    p99Ms: raw.p99Us / 1000,
    requests: raw.requests,
    non2xx: raw.non2xx,
    socketErrors: raw.socketErrors,
    issued: raw.issued,
  };
}
