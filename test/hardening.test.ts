// Input and protocol hardening of both services, started for real: bodies that are not UTF-8,
// wrong methods, slow clients, oversized headers, cache headers, the metrics port, and reads that
// need a token when the setting says so (the data-service read lane included).
import { Agent, get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { authHeader, startData, startUser, testToken } from './support/services.ts';

let db: TestDatabase;
let user: Awaited<ReturnType<typeof startUser>>;
let data: Awaited<ReturnType<typeof startData>>;

beforeAll(async () => {
  db = await createTestDatabase('hardening');
  await migrate(db.sql, createLogger('test', 'silent'));
  await db.sql`insert into users (name, info) values ('Amit', 'x')`;
  user = await startUser(db.name, { MIGRATE_ON_START: 'false' });
  data = await startData(db.name);
});
afterAll(async () => {
  await Promise.all([user?.stop(), data?.stop()]);
  await db?.drop();
});

describe('a body that is not valid UTF-8', () => {
  it.each([
    ['POST', '/register', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])],
    ['PATCH', '/user/Amit', Buffer.concat([Buffer.from('{"info":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])],
  ])('%s %s answers 400 naming the problem and stores nothing', async (method, path, body) => {
    const before = await db.sql`select name, info, updated_at from users order by name`;
    const res = await fetch(`${user.url}${path}`, { method, headers: { 'content-type': 'application/json', ...(await authHeader()) }, body });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { detail: string; errors: { in: string; field?: string }[] };
    expect(problem.detail).toMatch(/not valid UTF-8/);
    expect(problem.errors).toEqual([{ in: 'body', message: 'is not valid UTF-8' }]);
    expect(await db.sql`select name, info, updated_at from users order by name`).toEqual(before);
  });

  it('valid multi-byte UTF-8 is stored as sent', async () => {
    const res = await fetch(`${user.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(await authHeader()) },
      body: Buffer.from('{"name":"Zoë","info":"日本語 ✓"}', 'utf8'),
    });
    expect(res.status).toBe(201);
    expect(await db.sql`select info from users where name = 'Zoë'`).toEqual([{ info: '日本語 ✓' }]);
  });
});

describe('a known path with a wrong method', () => {
  it.each([
    ['user', 'GET', '/register', 'POST'],
    ['user', 'PUT', '/user/Amit', 'DELETE, PATCH'],
    ['user', 'POST', '/health', 'GET, HEAD'],
    ['data', 'POST', '/user/Amit', 'GET, HEAD'],
    ['data', 'DELETE', '/users', 'GET, HEAD'],
  ] as const)('%s-service %s %s answers 405 with Allow: %s', async (service, method, path, allow) => {
    const base = service === 'user' ? user.url : data.url;
    const res = await fetch(`${base}${path}`, { method, headers: await authHeader() });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('an unknown path is still a 404', async () => {
    expect((await fetch(`${user.url}/nope`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${data.url}/user/Amit/extra`)).status).toBe(404);
  });
});

describe('headers that keep intermediaries from caching or sniffing', () => {
  it('writes and errors say no-store and nosniff; successful reads only nosniff', async () => {
    const missing = await fetch(`${data.url}/user/Nobody`); // read lane
    const invalid = await fetch(`${data.url}/users?limit=0`); // app
    const refused = await fetch(`${user.url}/user/Amit`, { method: 'DELETE' });
    for (const res of [missing, invalid, refused]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const read = await fetch(`${data.url}/user/Amit`);
    expect(read.status).toBe(200);
    expect(read.headers.get('x-content-type-options')).toBe('nosniff');
    expect(read.headers.get('cache-control')).toBeNull();
  });
});

describe('slow and oversized clients', () => {
  /** Sends a request line, then one header byte every `everyMs`, never finishing the headers. */
  function slowloris(port: number, everyMs: number): { socket: Socket; closed: Promise<number> } {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {}).resume();
    socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const drip = setInterval(() => socket.writable && socket.write('a'), everyMs);
    const closed = new Promise<number>((resolve) => socket.once('close', () => {
      clearInterval(drip);
      resolve(Date.now() - started);
    }));
    return { socket, closed };
  }

  it.each(['user', 'data'] as const)('%s-service cuts off a client that never finishes its headers, and keeps answering others', async (name) => {
    const start = name === 'user' ? startUser : startData;
    const service = await start(db.name, { HTTP_HEADERS_TIMEOUT_MS: 500, HTTP_REQUEST_TIMEOUT_MS: 1_000, MIGRATE_ON_START: 'false' });
    const slow = Array.from({ length: 5 }, () => slowloris(service.port, 100));
    const silent = connect(service.port, '127.0.0.1').on('error', () => {}).resume();
    const silentClosed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    try {
      const answered: number[] = [];
      const normal = (async () => {
        for (let i = 0; i < 10; i++) {
          answered.push((await fetch(`${service.url}/health`)).status);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const cutAfter = await Promise.all(slow.map((s) => s.closed));
      await silentClosed;
      await normal;
      for (const ms of cutAfter) expect(ms).toBeLessThan(3_000);
      expect(answered).toEqual(Array(10).fill(200));
    } finally {
      for (const s of slow) s.socket.destroy();
      silent.destroy();
      await service.stop();
    }
  });

  it('an idle keep-alive connection outlives the header timeout: a load balancer may reuse it', async () => {
    const service = await startUser(db.name, { HTTP_HEADERS_TIMEOUT_MS: 500, HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000, MIGRATE_ON_START: 'false' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const request = () =>
      new Promise<{ status: number; localPort: number }>((resolve, reject) => {
        get({ port: service.port, host: '127.0.0.1', path: '/health', agent }, (res) => {
          const localPort = res.socket.localPort!;
          res.resume().on('end', () => resolve({ status: res.statusCode!, localPort }));
        }).on('error', reject);
      });
    try {
      const first = await request();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const second = await request();
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.localPort).toBe(first.localPort); // the same connection
    } finally {
      agent.destroy();
      await service.stop();
    }
  });

  it('headers over 16 KiB are refused with 431', async () => {
    const res = await fetch(`${user.url}/health`, { headers: { 'x-big': 'a'.repeat(20 * 1024) } });
    expect(res.status).toBe(431);
  });
});

describe('METRICS_PORT', () => {
  it.each(['user', 'data'] as const)('%s-service serves /metrics there only, and the API port answers 404 for it', async (name) => {
    const start = name === 'user' ? startUser : startData;
    const service = await start(db.name, { METRICS_PORT: 0, MIGRATE_ON_START: 'false' });
    try {
      expect(service.metricsPort).toBeGreaterThan(0);
      const scraped = await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('http_server_request_duration_seconds');
      expect((await fetch(`http://127.0.0.1:${service.metricsPort}/register`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${service.metricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${service.url}/health`)).status).toBe(200);
    } finally {
      await service.stop();
    }
  });
});

describe('AUTH_READS=token: reads need users:read, on every path that answers them', () => {
  it('data-service refuses reads without a token or without the scope, read lane and app alike', async () => {
    const guarded = await startData(db.name, { AUTH_READS: 'token' });
    try {
      for (const path of ['/user/Amit', '/user/Am%69t', '/users?limit=1']) {
        const none = await fetch(`${guarded.url}${path}`);
        expect(none.status, path).toBe(401);
        expect(none.headers.get('www-authenticate')).toMatch(/^Bearer realm="data-service"/);
        const writeOnly = await fetch(`${guarded.url}${path}`, { headers: { authorization: `Bearer ${await testToken('users:write')}` } });
        expect(writeOnly.status, path).toBe(403);
        const reader = await fetch(`${guarded.url}${path}`, { headers: { authorization: `Bearer ${await testToken('users:read')}` } });
        expect(reader.status, path).toBe(200);
      }
      const doc = (await (await fetch(`${guarded.url}/openapi.json`)).json()) as any;
      expect(doc.paths['/user/{name}'].get.security).toEqual([{ bearerAuth: ['users:read'] }]);
      expect((await fetch(`${guarded.url}/health`)).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  it('with public reads (the default) data-service needs no key, and OpenAPI declares the reads public', async () => {
    const open = await startData(db.name, { JWT_SECRET: '' });
    try {
      expect((await fetch(`${open.url}/user/Amit`)).status).toBe(200);
      const doc = (await (await fetch(`${open.url}/openapi.json`)).json()) as any;
      // `security: []` is OpenAPI's explicit "no credentials", as on every public operation.
      expect(doc.paths['/user/{name}'].get.security).toEqual([]);
      expect(doc.paths['/users'].get.security).toEqual([]);
      expect(doc.components.securitySchemes).toBeUndefined();
    } finally {
      await open.stop();
    }
  });
});
