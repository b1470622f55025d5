// One shape for every 4xx either service gives, from the app, from data-service's read lane, from
// node:http's parser (answered in http/client-errors.ts) and from the metrics port: RFC 9457
// problem+json that validates against the Problem schema of the service's own OpenAPI document,
// says what is wrong in `detail`, carries the request id in the body and in X-Request-Id, is never
// cached or sniffed, and on every 400 is titled "Invalid request" with an `errors` list.
import { once } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../services/shared/src/observability/index.ts';
import { migrate } from '../services/user/src/migrate.ts';
import { SchemaValidator, type Json } from './api/support/openapi.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { authHeader, startData, startUser, testToken } from './support/services.ts';

let db: TestDatabase;
const services: Partial<Record<Target, { url: string; port: number; metricsPort?: number; stop: () => Promise<void> }>> = {};
const documents: Partial<Record<Target, Json>> = {};

/** user- and data-service with /metrics on a port of its own, and data-service with reads behind a token. */
type Target = 'user' | 'data' | 'guardedData';

beforeAll(async () => {
  db = await createTestDatabase('problem_shape');
  await migrate(db.sql, createLogger('test', 'silent'));
  await db.sql`insert into users (name, info) values ('Amit', 'x')`;
  const fast = { MIGRATE_ON_START: 'false', METRICS_PORT: 0, HTTP_HEADERS_TIMEOUT_MS: 300, HTTP_REQUEST_TIMEOUT_MS: 600 };
  [services.user, services.data, services.guardedData] = await Promise.all([
    startUser(db.name, fast),
    startData(db.name, fast),
    startData(db.name, { ...fast, AUTH_READS: 'token' }),
  ]);
  for (const target of ['user', 'data', 'guardedData'] as const) {
    documents[target] = (await (await fetch(`${services[target]!.url}/openapi.json`)).json()) as Json;
  }
});
afterAll(async () => {
  await Promise.all(Object.values(services).map((service) => service?.stop()));
  await db?.drop();
});

/** Bytes written as they are on a socket of their own, for requests fetch cannot send; the answer as a Response. */
async function raw(port: number, bytes: string): Promise<Response> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk)).on('error', () => {});
  if (bytes) socket.write(bytes);
  await once(socket, 'close');
  const text = Buffer.concat(chunks).toString('latin1');
  const [head = '', body = ''] = text.split(/\r\n\r\n(.*)/s);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Headers(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
  return new Response(body, { status: Number(statusLine.split(' ')[1]), headers });
}

interface Case {
  /** Which service answers, and on which port. */
  target: Target;
  port?: 'api' | 'metrics';
  /** What to send: a fetch, or bytes on a socket. */
  send: (base: string, port: number) => Promise<Response>;
  status: number;
  /** What the detail must say. */
  detail: RegExp;
  /** The `errors` entry the answer must list, for answers about a part of the request. */
  error?: { in: string; field?: string };
  /** The path the problem names; absent when the parser refused the request before reading it. */
  instance?: string | null;
}

const json = { 'content-type': 'application/json' };
const body = (method: string, text: string | Buffer, headers: Record<string, string> = {}) => async (path: string) =>
  ({ method, headers: { ...json, ...(await authHeader()), ...headers }, body: text }) as RequestInit;
const call = (path: string, init: (path: string) => Promise<RequestInit> | RequestInit = () => ({})) => async (base: string) =>
  fetch(`${base}${path}`, await init(path));

const cases: Record<string, Case> = {
  'malformed JSON': {
    target: 'user',
    send: call('/register', body('POST', '{"name": "Zed",')),
    status: 400,
    detail: /not valid JSON/,
    error: { in: 'body' },
    instance: '/register',
  },
  'a missing field': { target: 'user', send: call('/register', body('POST', '{}')), status: 400, detail: /name: is required/, error: { in: 'body', field: 'name' } },
  'an unknown field': { target: 'user', send: call('/register', body('POST', '{"name":"Zed","inf":"x"}')), status: 400, detail: /inf: is not a known field/, error: { in: 'body', field: 'inf' } },
  'a body that is not valid UTF-8': {
    target: 'user',
    send: call('/register', body('POST', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]))),
    status: 400,
    detail: /not valid UTF-8/,
    error: { in: 'body' },
  },
  'an unknown query parameter': { target: 'user', send: call('/health?verbose=1'), status: 400, detail: /verbose: is not a known query parameter/, error: { in: 'query', field: 'verbose' } },
  'a name too long (write)': {
    target: 'user',
    send: call(`/user/${'n'.repeat(101)}`, async () => ({ method: 'DELETE', headers: await authHeader() })),
    status: 400,
    detail: /name/,
    error: { in: 'path', field: 'name' },
  },
  'a name too long (data, app route)': { target: 'data', send: call(`/user/${'n'.repeat(101)}`), status: 400, detail: /name/, error: { in: 'path', field: 'name' } },
  'a limit out of range': { target: 'data', send: call('/users?limit=0'), status: 400, detail: /limit: must be at least 1/, error: { in: 'query', field: 'limit' } },
  'no token': { target: 'user', send: call('/register', async () => ({ method: 'POST', headers: json, body: '{"name":"Zed"}' })), status: 401, detail: /Bearer token/ },
  'a token of another key': {
    target: 'user',
    send: call('/register', async () => ({ method: 'POST', headers: { ...json, authorization: `Bearer ${await testToken('users:write', 600, 'another-key-of-at-least-32-bytes-0123456789')}` }, body: '{"name":"Zed"}' })),
    status: 401,
    detail: /signature is invalid/,
  },
  'a token without the scope': {
    target: 'user',
    send: call('/register', async () => ({ method: 'POST', headers: { ...json, authorization: `Bearer ${await testToken('users:read')}` }, body: '{"name":"Zed"}' })),
    status: 403,
    detail: /lacks the users:write scope/,
  },
  'a read without a token (read lane)': { target: 'guardedData', send: call('/user/Amit'), status: 401, detail: /Bearer token/, instance: '/user/Amit' },
  'a read without the scope (app)': {
    target: 'guardedData',
    send: call('/users', async () => ({ headers: { authorization: `Bearer ${await testToken('users:write')}` } })),
    status: 403,
    detail: /lacks the users:read scope/,
  },
  'an unknown user (read lane)': { target: 'data', send: call('/user/Nobody'), status: 404, detail: /no user named "Nobody"/, instance: '/user/Nobody' },
  'an unknown user (app route)': { target: 'data', send: call('/user/N%6Fbody'), status: 404, detail: /no user named "Nobody"/ },
  'an unknown user (write)': { target: 'user', send: call('/user/Nobody', body('PATCH', '{"info":"x"}')), status: 404, detail: /no user named "Nobody"/ },
  'no such route': { target: 'data', send: call('/nowhere'), status: 404, detail: /no route for GET \/nowhere/ },
  'a wrong method': { target: 'user', send: call('/user/Amit', () => ({ method: 'PUT' })), status: 405, detail: /PUT is not allowed on \/user\/Amit/ },
  'a wrong method (data)': { target: 'data', send: call('/user/Amit', () => ({ method: 'POST' })), status: 405, detail: /POST is not allowed/ },
  'a name taken': { target: 'user', send: call('/register', body('POST', '{"name":"Amit"}')), status: 409, detail: /already exists/ },
  'a body over 64 KiB (declared)': {
    target: 'user',
    send: call('/register', body('POST', JSON.stringify({ name: 'Big', info: 'x'.repeat(70 * 1024) }))),
    status: 413,
    detail: /larger than 65536 bytes/,
    error: { in: 'body' },
  },
  'a body over 64 KiB (chunked)': {
    target: 'user',
    send: call('/register', async () => ({
      method: 'POST',
      headers: { ...json, ...(await authHeader()) },
      body: new Blob([JSON.stringify({ name: 'Big', info: 'x'.repeat(70 * 1024) })]).stream(),
      duplex: 'half',
    }) as RequestInit),
    status: 413,
    detail: /larger than 65536 bytes/,
    error: { in: 'body' },
  },
  'a body not sent as JSON': {
    target: 'user',
    send: call('/register', body('POST', 'name=Zed', { 'content-type': 'text/plain' })),
    status: 415,
    detail: /must be JSON/,
    error: { in: 'header', field: 'content-type' },
  },
  'headers over 16 KiB (user)': { target: 'user', send: call('/health', () => ({ headers: { 'x-big': 'a'.repeat(20 * 1024) } })), status: 431, detail: /larger than 16 KiB/, error: { in: 'header' }, instance: '/health' },
  'headers over 16 KiB (read lane)': { target: 'data', send: call('/user/Amit', () => ({ headers: { 'x-big': 'a'.repeat(20 * 1024) } })), status: 431, detail: /larger than 16 KiB/, error: { in: 'header' } },
  'a URL over 16 KiB': { target: 'data', send: call(`/user/${'a'.repeat(20 * 1024)}`), status: 431, detail: /larger than 16 KiB/, error: { in: 'header' }, instance: null },
  'a request that is not HTTP': { target: 'user', send: (_, port) => raw(port, 'HELLO there\r\n\r\n'), status: 400, detail: /not valid HTTP\/1.1/, error: { in: 'header' }, instance: null },
  'a request line without a version': { target: 'data', send: (_, port) => raw(port, 'GET /user/Amit HTTP/9\r\n\r\n'), status: 400, detail: /not valid HTTP\/1.1/, error: { in: 'header' } },
  // HTTP_HEADERS_TIMEOUT_MS is 300 here: the server's own timeout, not one of this test.
  'headers that do not arrive in time': { target: 'user', send: (_, port) => raw(port, 'GET /health HTTP/1.1\r\nHost: x\r\n'), status: 408, detail: /did not arrive in time/, instance: null },
  'the metrics port, another path': { target: 'user', port: 'metrics', send: call('/register'), status: 404, detail: /only \/metrics/, instance: '/register' },
  'the metrics port, another method': { target: 'data', port: 'metrics', send: call('/metrics', () => ({ method: 'POST' })), status: 405, detail: /POST is not allowed on \/metrics/ },
};

describe('every 4xx has one shape', () => {
  it.each(Object.entries(cases))('%s', async (_, { target, port = 'api', send, status, detail, error, instance }) => {
    const service = services[target]!;
    const portNumber = port === 'api' ? service.port : service.metricsPort!;
    const res = await send(`http://127.0.0.1:${portNumber}`, portNumber);
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[\w=-]{1,255}$/);

    const problem = JSON.parse(text) as { type: string; title: string; status: number; detail: string; instance?: string; requestId: string; errors?: { in: string; field?: string; message: string }[] };
    const validator = new SchemaValidator(documents[target]!);
    const validate = validator.compile({ $ref: '#/components/schemas/Problem' });
    expect(validate(problem), validator.errors(validate)).toBe(true);
    expect(problem).toMatchObject({ type: 'about:blank', status, requestId });
    expect(problem.title).toBe(status === 400 ? 'Invalid request' : STATUS_CODES[status]);
    expect(problem.detail).toMatch(detail);
    if (instance === null) expect(problem.instance).toBeUndefined();
    else if (instance !== undefined) expect(problem.instance).toBe(instance);
    else expect(problem.instance).toMatch(/^\//);
    if (status === 400) expect(problem.errors?.length).toBeGreaterThan(0);
    if (error) expect(problem.errors).toContainEqual(expect.objectContaining({ ...error, message: expect.any(String) }));
    else expect(problem.errors).toBeUndefined();
  });

  it('a refused request stores nothing', async () => {
    expect(await db.sql`select name from users order by name`).toEqual([{ name: 'Amit' }]);
  });

  it('covers every 4xx status the documents declare, and the ones only the parser or the metrics port give', () => {
    const documented = new Set<number>();
    for (const document of Object.values(documents)) {
      for (const item of Object.values<Json>(document!.paths)) {
        for (const operation of Object.values<Json>(item)) {
          for (const code of Object.keys(operation.responses ?? {})) if (code.startsWith('4')) documented.add(Number(code));
        }
      }
    }
    const covered = new Set(Object.values(cases).map((c) => c.status));
    expect([...documented].filter((code) => !covered.has(code))).toEqual([]);
    expect([...covered].sort()).toEqual([400, 401, 403, 404, 405, 408, 409, 413, 415, 431]);
  });
});
