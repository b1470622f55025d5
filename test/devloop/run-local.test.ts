// `make run` (scripts/run-local.sh) for real: the built services on the local PostgreSQL and Redis.
// Only npm is a stub (the suite has built dist/ already, and a build from inside a test would race
// the one of `npm test`); every run uses a scratch database and key prefix, removed afterwards.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createScratchBackends, type ScratchBackends } from '../../scripts/scratch-backends.ts';
import { freePort } from '../../scripts/free-port.ts';
import { waitFor } from '../support/services.ts';
import { repoRoot } from './support/repo.ts';
import { stubs } from './support/stubs.ts';

interface Run {
  code: Promise<number | null>;
  output: () => string;
  pid: number;
}

function start(command: string[], env: Record<string, string>): Run {
  const npm = stubs({ npm: 'exit 0' });
  const child = spawn(command[0]!, command.slice(1), { cwd: repoRoot, env: { PATH: npm.path, HOME: npm.dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { code: once(child, 'exit').then(([code]) => code as number | null), output: () => output, pid: child.pid! };
}

let scratch: ScratchBackends | undefined;
afterEach(async () => {
  await scratch?.dispose();
  scratch = undefined;
});

/** The scratch space with its database dropped again: `make run` must create it. */
async function missingDatabase(): Promise<ScratchBackends> {
  scratch = await createScratchBackends('run_local');
  const admin = connect('postgres');
  await admin.unsafe(`drop database "${scratch.database}"`);
  await admin.end();
  return scratch;
}

const serviceAt = async (port: number): Promise<string | undefined> =>
  fetch(`http://127.0.0.1:${port}/`).then(
    async (response) => ((await response.json()) as { service?: string }).service,
    () => undefined,
  );

const isReady = async (port: number): Promise<boolean> =>
  fetch(`http://127.0.0.1:${port}/health/ready`).then(
    (response) => response.status === 200,
    () => false,
  );

describe('make run', () => {
  it('serves user-service on USER_PORT and data-service on DATA_PORT (PORT changes neither), on a database of its own; SIGTERM stops both and exits 0', async () => {
    const { env, database } = await missingDatabase();
    const userPort = await freePort(18360, 18369);
    const dataPort = await freePort(18370, 18379);
    const run = start([path.join(repoRoot, 'scripts/run-local.sh')], { ...env, USER_PORT: String(userPort), DATA_PORT: String(dataPort), PORT: String(dataPort) });

    await waitFor(async () => (await serviceAt(userPort)) === 'user-service' && (await serviceAt(dataPort)) === 'data-service', 20_000, 100);
    // Ready once the schema and the demo rows are in (user-service migrates after it listens).
    await waitFor(async () => (await isReady(userPort)) && (await isReady(dataPort)), 20_000, 100);
    expect(run.output()).toContain(`created database ${database}`);
    expect(run.output()).toContain('run: PORT is ignored here; USER_PORT and DATA_PORT choose the ports');
    // The demo users were written into the new database, not into `postgres`.
    const sql = connect(database);
    try {
      expect((await sql`select count(*)::int as n from users where name = 'Amit'`)[0]!.n).toBe(1);
    } finally {
      await sql.end();
    }

    process.kill(run.pid, 'SIGTERM');
    expect(await run.code).toBe(0);
    expect(await serviceAt(userPort)).toBeUndefined();
    expect(await serviceAt(dataPort)).toBeUndefined();
  });

  it('exits non-zero naming the service whose port is taken, and stops the other', async () => {
    const { env } = await missingDatabase();
    const userPort = await freePort(18360, 18369);
    const dataPort = await freePort(18370, 18379);
    const taken = net.createServer().listen(dataPort, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const run = start(['make', '--no-print-directory', 'run'], { ...env, USER_PORT: String(userPort), DATA_PORT: String(dataPort) });
      expect(await run.code).not.toBe(0);
      expect(run.output()).toMatch(new RegExp(`run: data-service \\(port ${dataPort}\\) stopped with exit code [1-9]\\d*; user-service was stopped too`));
      expect(await serviceAt(userPort)).toBeUndefined();
    } finally {
      taken.close();
    }
  });

  it('refuses one port for both services', async () => {
    const run = start([path.join(repoRoot, 'scripts/run-local.sh')], { USER_PORT: '5000', DATA_PORT: '5000' });
    expect(await run.code).toBe(2);
    expect(run.output()).toBe('run: USER_PORT and DATA_PORT are both 5000; give each service a port of its own\n');
  });
});
