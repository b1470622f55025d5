import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseEnv } from '../../services/shared/src/config/index.ts';
import { createLogger } from '../../services/shared/src/observability/index.ts';
import { dataEnv } from '../../services/data/src/config.ts';
import { startDataService } from '../../services/data/src/service.ts';
import { userEnv } from '../../services/user/src/config.ts';
import { startUserService } from '../../services/user/src/service.ts';
import { signToken } from '../../services/shared/src/auth/index.ts';
import { PG } from './postgres.ts';

export const REDIS_PORT = Number(process.env.REDIS_PORT || 6379);

/** The HS256 key every test service verifies with, unless a test sets its own. Made per run: nothing to leak. */
export const TEST_JWT_SECRET = randomBytes(32).toString('base64url');

/** A valid token with these scopes for the test services. */
export const testToken = (scope = 'users:write users:read', ttlSeconds = 600, secret = TEST_JWT_SECRET) =>
  signToken({ secret, scope, ttlSeconds, subject: 'test' });

let writeToken: Promise<string> | undefined;
/** `authorization` for writes to the test services. */
export const authHeader = async (): Promise<{ authorization: string }> => ({ authorization: `Bearer ${await (writeToken ??= testToken())}` });

/** The environment a test service gets: its own database, its own Redis key prefix, any free port. */
export function testEnv(database: string, overrides: Record<string, string | number> = {}): Record<string, string> {
  const env: Record<string, string | number> = {
    PORT: 0,
    LOG_LEVEL: 'info',
    PGHOST: PG.host,
    PGPORT: PG.port,
    PGUSER: PG.user,
    PGDATABASE: database,
    REDIS_HOST: '127.0.0.1',
    REDIS_PORT,
    REDIS_KEY_PREFIX: `test:${database}:`,
    JWT_SECRET: TEST_JWT_SECRET,
    ...overrides,
  };
  if (PG.password) env.PGPASSWORD = PG.password;
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)]));
}

/** Log lines a service wrote, parsed, for assertions on what operators would see. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

export async function startUser(database: string, overrides: Record<string, string | number> = {}) {
  const logs = new LogCapture();
  const config = parseEnv(userEnv, testEnv(database, overrides));
  const service = await startUserService(config, createLogger('user-service', config.LOG_LEVEL, logs));
  return { ...service, url: `http://127.0.0.1:${service.port}`, logs };
}

export async function startData(database: string, overrides: Record<string, string | number> = {}) {
  const logs = new LogCapture();
  const config = parseEnv(dataEnv, testEnv(database, overrides));
  const service = await startDataService(config, createLogger('data-service', config.LOG_LEVEL, logs));
  return { ...service, url: `http://127.0.0.1:${service.port}`, logs };
}

/** POST with a valid write token (pass `headers` to replace them, e.g. to test refusals). */
export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(await authHeader()) }, body: JSON.stringify(body), ...init });
}

export async function patchJson(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json', ...(await authHeader()) }, body: JSON.stringify(body) });
}

export async function deleteUser(url: string): Promise<Response> {
  return fetch(url, { method: 'DELETE', headers: await authHeader() });
}

/**
 * Polls until `check` passes or the deadline ends. Kept instead of vi.waitFor, which gives up at
 * the deadline even while a check is still in flight and retries checks that throw: here the last
 * HTTP or SQL check may finish late on a busy machine, and a check that throws is a failure.
 */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5_000, intervalMs = 10): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
