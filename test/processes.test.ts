// The built services as real processes: what an operator (or the kubelet) sees at start and stop.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { freePort } from '../scripts/free-port.ts';
import { authHeader, TEST_JWT_SECRET, testEnv, waitFor } from './support/services.ts';

const entry = { user: 'dist/services/user/src/main.js', data: 'dist/services/data/src/main.js' } as const;

let db: TestDatabase;

beforeAll(async () => {
  if (!existsSync(entry.user) || !existsSync(entry.data)) throw new Error('run `npm run build` first (npm test does)');
  db = await createTestDatabase('processes');
  await migrate(db.sql, createLogger('test', 'silent'));
});
afterAll(() => db?.drop());

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(service: keyof typeof entry, env: Record<string, string>): Omit<Running, 'url'> {
  const child = spawn(process.execPath, [entry[service]], { env: { PATH: process.env.PATH, ...env } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, stdout: () => out, exit };
}

async function start(service: keyof typeof entry, overrides: Record<string, string | number> = {}): Promise<Running> {
  const port = await freePort();
  const running = run(service, testEnv(db.name, { PORT: port, ...overrides }));
  const url = `http://127.0.0.1:${port}`;
  // Its own "listening" line first: the port was free a moment ago, but another test may have
  // been handed it since, and that server's readiness is not this one's.
  await waitFor(() => running.stdout().includes(`"port":${port},"msg":"listening"`), 10_000, 20);
  await waitFor(async () => (await fetch(`${url}/health/ready`).catch(() => undefined))?.status === 200, 10_000, 50);
  return { ...running, url };
}

describe('configuration', () => {
  it.each([
    ['user', { PORT: 'eighty' }, 'PORT'],
    ['data', { PORT: '70000' }, 'PORT'],
    ['data', { REDIS_PORT: 'x' }, 'REDIS_PORT'],
    ['user', { DATABASE_URL: 'http://user:hunter2@db/app' }, 'DATABASE_URL'],
    ['user', { MIGRATE_ON_START: 'maybe' }, 'MIGRATE_ON_START'],
    ['data', { CACHE_TTL_SECONDS: '-5' }, 'CACHE_TTL_SECONDS'],
    ['data', { LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    ['user', { JWT_SECRET: 'hunter2-is-short' }, 'JWT_SECRET'],
    ['user', { JWT_SECRET: '' }, 'JWT_SECRET or JWKS_URL'],
    ['data', { JWT_SECRET: '', AUTH_READS: 'token' }, 'JWT_SECRET or JWKS_URL'],
    ['user', { JWT_SECRET: '', JWKS_URL: 'http://idp.example.com/jwks' }, 'JWKS_URL'],
    ['user', { JWKS_URL: 'https://idp.example.com/jwks' }, 'JWT_SECRET'],
    ['user', { AUTH: 'off' }, 'AUTH'],
    ['data', { METRICS_PORT: '99999' }, 'METRICS_PORT'],
  ] as const)('%s-service with %o exits 1 with one line naming %s', async (service, env, variable) => {
    const running = run(service, { ...testEnv(db.name), ...env });
    const { code } = await running.exit;
    expect(code).toBe(1);
    const lines = running.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^invalid configuration: ${variable}: `));
    expect(running.stdout()).not.toContain('hunter2');
  });
});

describe('AUTH=disabled', () => {
  it.each(['user', 'data'] as const)('%s-service warns at start that authentication is off', async (service) => {
    const running = await start(service, { AUTH: 'disabled', JWT_SECRET: '' });
    running.child.kill('SIGTERM');
    await running.exit;
    const warning = running.stdout().split('\n').find((line) => line.includes('"level":"warn"') && line.includes('AUTH=disabled'));
    expect(warning).toBeDefined();
  });
});

describe('npm run token (token-cli)', () => {
  const cli = 'dist/services/user/src/token-cli.js';
  const mint = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
    });

  it('prints only a token that user-service accepts for writes', async () => {
    const minted = await mint(['--scope', 'users:write', '--ttl', '5m'], { JWT_SECRET: TEST_JWT_SECRET });
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(payload.scope).toBe('users:write');
    expect(payload.exp - payload.iat).toBe(300);
    const running = await start('user');
    try {
      const res = await fetch(`${running.url}/user/nobody-here`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(404);
      const readOnly = (await mint(['--scope', 'users:read'], { JWT_SECRET: TEST_JWT_SECRET })).stdout.trim();
      expect((await fetch(`${running.url}/user/nobody-here`, { method: 'DELETE', headers: { authorization: `Bearer ${readOnly}` } })).status).toBe(403);
    } finally {
      running.child.kill('SIGTERM');
      await running.exit;
    }
  });

  it.each([
    [[], {}, /JWT_SECRET is not set/],
    [[], { JWT_SECRET: 'short' }, /at least 32 bytes/],
    [['--ttl', 'forever'], { JWT_SECRET: TEST_JWT_SECRET }, /--ttl/],
    [['--ttl', '90d'], { JWT_SECRET: TEST_JWT_SECRET }, /at most 30d/],
    [['--bogus'], { JWT_SECRET: TEST_JWT_SECRET }, /usage/],
  ] as const)('%o with %o exits 1 with a line saying why, and never prints the secret', async (args, env, message) => {
    const result = await mint([...args], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain(TEST_JWT_SECRET);
  });
});

describe('start-up failure', () => {
  it.each(['user', 'data'] as const)('%s-service exits 1 with one line when its port is taken', async (service) => {
    const taken = net.createServer().listen(0);
    await once(taken, 'listening');
    try {
      const running = run(service, testEnv(db.name, { PORT: (taken.address() as net.AddressInfo).port }));
      expect((await running.exit).code).toBe(1);
      expect(running.stdout().trim()).toMatch(/^cannot start: listen EADDRINUSE[^\n]*$/);
    } finally {
      taken.close();
    }
  });
});

describe('SIGTERM', () => {
  it.each(['user', 'data'] as const)('%s-service stops promptly and exits 0 when idle', async (service) => {
    const running = await start(service);
    running.child.kill('SIGTERM');
    const { code } = await running.exit;
    expect(code).toBe(0);
    expect(running.stdout()).toContain('"msg":"stopped"');
  });

  it.each(['user', 'data'] as const)(
    '%s-service fails readiness first, finishes requests in flight, then exits 0',
    async (service) => {
      await db.sql`insert into users (name, info) values ('inflight', 'x') on conflict do nothing`;
      const running = await start(service, { SHUTDOWN_DELAY_MS: 400, SHUTDOWN_TIMEOUT_MS: 10_000, LOCAL_CACHE_TTL_MS: 0 });
      const auth = await authHeader();
      // Hold a lock that every request of this test has to wait for, so they are in flight at SIGTERM.
      const locked = db.sql.reserve();
      const tx = await locked;
      await tx`begin`;
      await tx`lock table users in access exclusive mode`;
      try {
        const requests = Array.from({ length: 5 }, (_, i) =>
          service === 'user'
            ? fetch(`${running.url}/register`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...auth },
                body: JSON.stringify({ name: `sigterm-${i}`, info: '' }),
              })
            : fetch(`${running.url}/user/sigterm-miss-${i}`),
        );
        await waitFor(async () => (await db.sql`select count(*)::int as n from pg_locks where not granted`)[0]!.n >= 1, 5_000);

        running.child.kill('SIGTERM');
        await waitFor(async () => (await fetch(`${running.url}/health/ready`)).status === 503, 2_000);
        await new Promise((resolve) => setTimeout(resolve, 600)); // past the delay: the listener is closed
        await tx`commit`;

        const statuses = await Promise.all(requests.map(async (r) => (await r).status));
        expect(statuses).toEqual(Array(5).fill(service === 'user' ? 201 : 404));
        expect((await running.exit).code).toBe(0);
      } finally {
        await tx`rollback`.catch(() => {});
        tx.release();
      }
    },
  );
});
