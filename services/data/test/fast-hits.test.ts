// Hits in the in-process tier are answered before the Hono app (fast-hits.ts). A client and an
// operator must not be able to tell: the same answer, request id, access log line and metrics
// as the app gives, and never a stale entry after a write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.ts';
import { patchJson, postJson, startData, startUser, waitFor } from '../../../test/support/services.ts';

let db: TestDatabase;
let user: Awaited<ReturnType<typeof startUser>>;
let data: Awaited<ReturnType<typeof startData>>;

beforeAll(async () => {
  db = await createTestDatabase('fast_hits');
  user = await startUser(db.name);
  await user.migrated;
  data = await startData(db.name, { LOCAL_CACHE_TTL_MS: 60_000 });
  await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200);
});

afterAll(async () => {
  await Promise.all([user?.stop(), data?.stop()]);
  await db?.drop();
});

const read = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${data.url}${path}`, { headers });
  return { res, body: (await res.json()) as Record<string, unknown> };
};

/** Until the in-process tier holds the name (a register's own NOTIFY may evict the first fill). */
const warm = (name: string) => waitFor(async () => (await read(`/user/${name}`)).res.headers.get('x-cache') === 'HIT', 2_000);

const accessLines = () => data.logs.lines.filter((line) => line.msg === 'request' && line.route === '/user/:name');

describe('cache hits answered before the app', () => {
  it('look exactly like the app answer for the same user: status, headers, body and log line', async () => {
    await postJson(`${user.url}/register`, { name: 'fast.one', info: 'hot' });
    await warm('fast.one');

    // A query string sends the request through the app; the plain path takes the fast lane.
    const viaApp = await read('/user/fast.one?via=app');
    const before = accessLines().length;
    const fast = await read('/user/fast.one');

    expect(fast.res.status).toBe(200);
    expect(fast.body).toEqual(viaApp.body);
    expect(fast.body).toMatchObject({ name: 'fast.one', info: 'hot', cached: true });
    for (const header of ['content-type', 'x-cache']) expect(fast.res.headers.get(header)).toBe(viaApp.res.headers.get(header));
    expect(fast.res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const [line] = accessLines().slice(before);
    const appLine = accessLines().at(before - 1)!;
    expect(line).toMatchObject({ level: 'info', method: 'GET', path: '/user/fast.one', status: 200, requestId: fast.res.headers.get('x-request-id') });
    expect(Object.keys(line!)).toEqual(Object.keys(appLine));
  });

  it('keep a valid caller request id and replace an invalid one, as the app does', async () => {
    await warm('fast.one');
    const kept = await read('/user/fast.one', { 'x-request-id': 'trace-42=a_b' });
    expect(kept.res.headers.get('x-cache')).toBe('HIT');
    expect(kept.res.headers.get('x-request-id')).toBe('trace-42=a_b');
    const replaced = await read('/user/fast.one', { 'x-request-id': 'not valid!' });
    expect(replaced.res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('are counted in the request histogram and as local hits', async () => {
    await warm('fast.one');
    const metric = async (pattern: RegExp) => Number(pattern.exec(await (await fetch(`${data.url}/metrics`)).text())?.[1] ?? 0);
    const requests = /http_request_duration_seconds_count\{[^}]*route="\/user\/:name",status="200"\} (\d+)/;
    const localHits = /cache_lookups_total\{tier="local",result="hit"[^}]*\} (\d+)/;
    const [requestsBefore, hitsBefore] = [await metric(requests), await metric(localHits)];
    await read('/user/fast.one');
    expect(await metric(requests)).toBe(requestsBefore + 1);
    expect(await metric(localHits)).toBe(hitsBefore + 1);
  });

  it('never serve the old info once a PATCH is acknowledged', async () => {
    await postJson(`${user.url}/register`, { name: 'fast.two', info: 'old' });
    await warm('fast.two');
    expect((await patchJson(`${user.url}/user/fast.two`, { info: 'new' })).status).toBe(200);
    // The NOTIFY arrives shortly after the commit; until then the old entry may be served, never after.
    await waitFor(async () => (await read('/user/fast.two')).body.info === 'new', 2_000);
    for (let i = 0; i < 20; i++) expect((await read('/user/fast.two')).body.info).toBe('new');
  });
});
