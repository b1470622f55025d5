// What a log line keeps of an error: pino's type, message and stack (not `"type":"Object"` with an
// empty stack), plus codes; never what a driver attaches to it (a query's parameters, a row's key).
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, PG, type TestDatabase } from '../../../../test/support/postgres.ts';
import { LogCapture } from '../../../../test/support/services.ts';
import { createLogger } from '../../src/observability/index.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('logger');
  await db.sql`create table people (name text primary key)`;
});
afterAll(() => db?.drop());

async function logged(err: unknown): Promise<{ line: Record<string, any>; raw: string }> {
  const logs = new LogCapture();
  createLogger('test-service', 'info', logs).error({ err }, 'failed');
  // pino writes asynchronously to a stream destination.
  await new Promise((resolve) => setImmediate(resolve));
  return { line: logs.lines[0]!, raw: logs.raw[0]! };
}

describe('errors in log lines', () => {
  it('a PostgreSQL error from the real server: its type, message, stack and code, not its parameters or detail', async () => {
    const secret = 'secret-key-value-4711';
    await db.sql`insert into people values (${secret})`;
    const error = await db.sql`insert into people values (${secret})`.catch((e: unknown) => e);

    const { line, raw } = await logged(error);
    expect(line.err).toMatchObject({ type: 'PostgresError', code: '23505' });
    expect(line.err.message).toMatch(/duplicate key value violates unique constraint/);
    expect(line.err.stack).toMatch(/duplicate key value/);
    expect(raw).not.toContain(secret);
    expect(Object.keys(line.err).sort()).toEqual(['code', 'message', 'stack', 'type']);
  });

  it('a refused connection: type, message, stack, and which address refused', async () => {
    const closed = postgres({ ...PG, port: 1, database: db.name, max: 1, connect_timeout: 2, onnotice: () => {} });
    const error = await closed`select 1`.catch((e: unknown) => e);
    await closed.end({ timeout: 0 });

    const { line } = await logged(error);
    expect(line.err.code).toBe('ECONNREFUSED');
    expect(line.err.type).toMatch(/Error$/);
    expect(line.err.type).not.toBe('Object');
    expect(line.err.message).toContain('ECONNREFUSED');
    expect(line.err.stack).not.toBe('');
    expect(line.err.port).toBe(1);
  });

  it('an error of our own, with its cause', async () => {
    class LookupFailed extends Error {}
    const { line } = await logged(new LookupFailed('lookup failed', { cause: new TypeError('bad row') }));
    expect(line.err.type).toBe('LookupFailed');
    expect(line.err.message).toBe('lookup failed: bad row');
    expect(line.err.stack).toContain('logger.test.ts');
    expect(line.err.stack).toContain('caused by: TypeError: bad row');
  });

  it('something thrown that is not an error is logged as it is', async () => {
    expect((await logged('plain text')).line.err).toBe('plain text');
  });
});
