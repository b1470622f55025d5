import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { authHeader, deleteUser, patchJson, postJson, startUser } from '../../../test/support/services.ts';

let db: TestDatabase;
let service: Awaited<ReturnType<typeof startUser>>;

beforeAll(async () => {
  db = await createTestDatabase('user_api');
  service = await startUser(db.name);
  await service.migrated;
});

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const countUsers = async () => Number((await db.sql`select count(*)::int as n from users`)[0]!.n);

describe('POST /register', () => {
  it('stores the user and answers 201 with the user and a Location header', async () => {
    const res = await postJson(`${service.url}/register`, { name: 'Amit', info: 'Backend engineer' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe('/user/Amit');
    const body = await res.json() as any;
    expect(body).toMatchObject({ name: 'Amit', info: 'Backend engineer' });
    expect(new Date(body.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const [row] = await db.sql`select name, info from users where name = 'Amit'`;
    expect(row).toEqual({ name: 'Amit', info: 'Backend engineer' });
  });

  it('a second register of the same name answers 409 and keeps the first', async () => {
    await postJson(`${service.url}/register`, { name: 'Priya', info: 'first' });
    const res = await postJson(`${service.url}/register`, { name: 'Priya', info: 'second' });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json() as any).toMatchObject({ status: 409, title: 'Conflict' });
    const rows = await db.sql`select info from users where name = 'Priya'`;
    expect(rows).toEqual([{ info: 'first' }]);
  });

  it('trims the name, so " Rahul " and "Rahul" are one user', async () => {
    expect((await postJson(`${service.url}/register`, { name: ' Rahul ', info: '' })).status).toBe(201);
    expect((await postJson(`${service.url}/register`, { name: 'Rahul', info: '' })).status).toBe(409);
  });

  it('accepts a missing info as empty, and names up to 100 characters', async () => {
    const res = await postJson(`${service.url}/register`, { name: 'n'.repeat(100) });
    expect(res.status).toBe(201);
    expect((await res.json() as any).info).toBe('');
  });

  // [case, body, the field named (undefined: the whole body), the message for it]
  const invalid: [string, unknown, string | undefined, string][] = [
    ['a missing name', { info: 'x' }, 'name', 'is required'],
    ['an empty name', { name: '', info: 'x' }, 'name', 'must not be empty'],
    ['a name of spaces only', { name: '   ', info: 'x' }, 'name', 'must not be empty'],
    ['a name of 101 characters', { name: 'n'.repeat(101), info: 'x' }, 'name', 'must be at most 100 characters'],
    ['a name with a control character', { name: 'bad\u0007name', info: 'x' }, 'name', 'must not contain control characters'],
    ['a name with a newline', { name: 'bad\nname', info: 'x' }, 'name', 'must not contain control characters'],
    ['a name with a C1 control character', { name: 'bad\u0085name', info: 'x' }, 'name', 'must not contain control characters'],
    ['a name that is a number', { name: 42, info: 'x' }, 'name', 'must be a string'],
    ['an info that is not a string', { name: 'ok-name', info: { a: 1 } }, 'info', 'must be a string'],
    ['an info over 10,000 characters', { name: 'ok-name', info: 'i'.repeat(10_001) }, 'info', 'must be at most 10000 characters'],
    ['an info with a NUL character', { name: 'ok-name', info: 'a\u0000b' }, 'info', 'must not contain NUL characters'],
    ['an unknown field', { name: 'ok-name', info: 'x', admin: true }, 'admin', 'is not a known field'],
    ['a JSON array', [], undefined, 'must be a JSON object'],
    ['JSON null', null, undefined, 'must be a JSON object'],
  ];

  it.each(invalid)('rejects %s with 400 naming the field, storing nothing', async (_case, body, field, message) => {
    const before = await countUsers();
    const res = await postJson(`${service.url}/register`, body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json() as any;
    expect(problem.status).toBe(400);
    expect(problem.errors).toContainEqual(field === undefined ? { in: 'body', message } : { in: 'body', field, message });
    expect(problem.detail).toContain(field === undefined ? `the body ${message}` : `${field}: ${message}`);
    expect(problem.detail).not.toMatch(/json|Invalid input|undefined/);
    expect(await countUsers()).toBe(before);
  });

  it('names each unknown field on its own', async () => {
    const res = await postJson(`${service.url}/register`, { name: 'two-unknown', admin: true, role: 'root' });
    expect((await res.json() as any).errors).toEqual([
      { in: 'body', field: 'admin', message: 'is not a known field' },
      { in: 'body', field: 'role', message: 'is not a known field' },
    ]);
  });

  it('rejects an unknown query parameter like an unknown field, storing nothing', async () => {
    const before = await countUsers();
    const res = await postJson(`${service.url}/register?dryRun=true`, { name: 'with-query', info: '' });
    expect(res.status).toBe(400);
    expect((await res.json() as any).errors).toEqual([{ in: 'query', field: 'dryRun', message: 'is not a known query parameter' }]);
    expect(await countUsers()).toBe(before);
  });

  it('rejects a body that is not JSON with 415', async () => {
    const res = await fetch(`${service.url}/register`, { method: 'POST', headers: { 'content-type': 'text/plain', ...(await authHeader()) }, body: 'name=x' });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json() as any;
    expect(problem.title).toBe('Unsupported Media Type');
    expect(problem.detail).toContain('application/json');
    expect(problem.detail).not.toBe(problem.title);
  });

  it('rejects a body without a content type with 415', async () => {
    const res = await fetch(`${service.url}/register`, { method: 'POST', headers: await authHeader(), body: new Blob(['{"name":"x"}']) });
    expect(res.status).toBe(415);
  });

  it('rejects malformed JSON with 400, like any other invalid input, storing nothing', async () => {
    const before = await countUsers();
    const res = await fetch(`${service.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await authHeader()) }, body: '{"name": "x",' });
    expect(res.status).toBe(400);
    expect(await res.json() as any).toMatchObject({
      title: 'Invalid request',
      detail: 'the request body is not valid JSON',
      errors: [{ in: 'body', message: 'is not valid JSON' }],
    });
    expect(await countUsers()).toBe(before);
  });

  it('rejects a body over 64 KiB with 413, storing nothing', async () => {
    const before = await countUsers();
    const res = await postJson(`${service.url}/register`, { name: 'big', info: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
    expect(await countUsers()).toBe(before);
  });

  it('counts a chunked body (no Content-Length) as it arrives: 413 over 64 KiB, stored under it', async () => {
    const auth = await authHeader();
    const chunked = (body: string) => {
      const bytes = new TextEncoder().encode(body);
      const stream = new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 8 * 1024) controller.enqueue(bytes.subarray(at, at + 8 * 1024));
          controller.close();
        },
      });
      return fetch(`${service.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: stream, duplex: 'half' } as RequestInit);
    };
    const before = await countUsers();
    const big = await chunked(JSON.stringify({ name: 'chunked.big', info: 'x'.repeat(70 * 1024) }));
    expect(big.status).toBe(413);
    expect(await countUsers()).toBe(before);

    const small = await chunked(JSON.stringify({ name: 'chunked.small', info: 'y'.repeat(9_000) }));
    expect(small.status).toBe(201);
    expect(await countUsers()).toBe(before + 1);
  });
});

describe('PATCH and DELETE /user/:name', () => {
  it('replaces the info and answers the updated user, with a newer updatedAt', async () => {
    const created = await (await postJson(`${service.url}/register`, { name: 'Sneha', info: 'before' })).json() as any;
    const res = await patchJson(`${service.url}/user/Sneha`, { info: 'after' });
    expect(res.status).toBe(200);
    const updated = await res.json() as any;
    expect(updated).toMatchObject({ name: 'Sneha', info: 'after', createdAt: created.createdAt });
    expect(new Date(updated.updatedAt).getTime()).toBeGreaterThan(new Date(created.updatedAt).getTime());
  });

  it('answers 404 for an unknown name on PATCH and DELETE', async () => {
    expect((await patchJson(`${service.url}/user/Nobody`, { info: 'x' })).status).toBe(404);
    expect((await deleteUser(`${service.url}/user/Nobody`)).status).toBe(404);
  });

  it('validates the PATCH body: info is required and no other field is accepted', async () => {
    await postJson(`${service.url}/register`, { name: 'Rajesh', info: 'kept' });
    const answers = [];
    for (const body of [{}, { info: 5 }, { info: 'x', name: 'renamed' }]) {
      const res = await patchJson(`${service.url}/user/Rajesh`, body);
      expect(res.status).toBe(400);
      answers.push((await res.json() as any).errors);
    }
    expect(answers).toEqual([
      [{ in: 'body', field: 'info', message: 'is required' }],
      [{ in: 'body', field: 'info', message: 'must be a string' }],
      [{ in: 'body', field: 'name', message: 'is not a known field' }],
    ]);
    const [row] = await db.sql`select info from users where name = 'Rajesh'`;
    expect(row).toEqual({ info: 'kept' });
  });

  it('handles names that need URL encoding', async () => {
    const name = 'Zoë / Ω & co?';
    expect((await postJson(`${service.url}/register`, { name, info: 'x' })).headers.get('location')).toBe(`/user/${encodeURIComponent(name)}`);
    expect((await patchJson(`${service.url}/user/${encodeURIComponent(name)}`, { info: 'y' })).status).toBe(200);
    expect((await deleteUser(`${service.url}/user/${encodeURIComponent(name)}`)).status).toBe(204);
  });

  it('deletes with 204 and an empty body; the row is gone', async () => {
    await postJson(`${service.url}/register`, { name: 'Gone', info: 'x' });
    const res = await deleteUser(`${service.url}/user/Gone`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await db.sql`select 1 from users where name = 'Gone'`).toHaveLength(0);
  });
});
