// Both services' OpenAPI documents, as the tools their clients use read them: `redocly lint` with
// the project's rule set (redocly.yaml), Ajv's JSON Schema 2020-12 validator compiling every schema,
// request bodies that the schema accepts are accepted by the service and the ones it rejects are
// rejected, and every documented operation and status is walked with real requests against the
// real services on real PostgreSQL and Redis: status, headers, content type and body must be what
// the document says. Operations and statuses are taken from the document, so a new one without a
// way to provoke it here fails the walk instead of going unchecked.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, PG, type TestDatabase } from '../support/postgres.ts';
import { patchJson, postJson, startData, startUser, testToken, waitFor } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { mismatches, operationsOf, resolve, SchemaValidator, schemasOf, type Json, type Operation } from './support/openapi.ts';

const REPO = join(import.meta.dirname, '..', '..');

let db: TestDatabase;
let proxy: TcpProxy;
let user: Awaited<ReturnType<typeof startUser>>;
let data: Awaited<ReturnType<typeof startData>>;
/** data-service with AUTH_READS=token: its document declares the read scope and the refusals. */
let guardedData: Awaited<ReturnType<typeof startData>>;
type Service = 'user' | 'data' | 'guardedData';
const documents: Record<Service, Json> = { user: {}, data: {}, guardedData: {} };
/** Authorization values for the walk: a token with every scope, and the ones it must refuse. */
const credentials = { all: '', readOnly: '', writeOnly: '', expired: '', foreignKey: '' };

const ready = (url: string) => waitFor(async () => (await fetch(`${url}/health/ready`)).status === 200, 15_000);

beforeAll(async () => {
  db = await createTestDatabase('api_contract');
  // PostgreSQL behind a proxy the walk can cut, for the documented 503s.
  proxy = await new TcpProxy(PG.port, PG.host).start();
  user = await startUser(db.name, { PGPORT: proxy.port, PG_QUERY_TIMEOUT_MS: 1_000 });
  await user.migrated;
  data = await startData(db.name, { PGPORT: proxy.port, PG_QUERY_TIMEOUT_MS: 1_000 });
  guardedData = await startData(db.name, { PGPORT: proxy.port, PG_QUERY_TIMEOUT_MS: 1_000, AUTH_READS: 'token' });
  await Promise.all([ready(user.url), ready(data.url), ready(guardedData.url)]);
  documents.user = (await (await fetch(`${user.url}/openapi.json`)).json()) as Json;
  documents.data = (await (await fetch(`${data.url}/openapi.json`)).json()) as Json;
  documents.guardedData = (await (await fetch(`${guardedData.url}/openapi.json`)).json()) as Json;
  const bearer = async (token: Promise<string>) => `Bearer ${await token}`;
  credentials.all = await bearer(testToken('users:write users:read'));
  credentials.readOnly = await bearer(testToken('users:read'));
  credentials.writeOnly = await bearer(testToken('users:write'));
  // Expired beyond the allowed clock skew.
  credentials.expired = await bearer(testToken('users:write users:read', -600));
  credentials.foreignKey = await bearer(testToken('users:write users:read', 600, 'a-key-these-services-do-not-have-0123456789'));
});

afterAll(async () => {
  await Promise.all([user?.stop(), data?.stop(), guardedData?.stop()]);
  await proxy?.close();
  await db?.drop();
});

/**
 * Runs `redocly lint` with the project's rules. Asynchronously: the services under test run in
 * this process, and blocking its event loop would stall them (and their keep-alive timers).
 */
function redoclyLint(files: string[]): Promise<{ status: number; output: string }> {
  const cli = join(REPO, 'node_modules/@redocly/cli/bin/cli.js');
  return new Promise((done) => {
    execFile(
      process.execPath,
      [cli, 'lint', '--config', join(REPO, 'redocly.yaml'), ...files],
      // No usage reports or update checks from a test run.
      { cwd: REPO, timeout: 60_000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' } },
      (error, stdout, stderr) => done({ status: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe('the documents pass a real OpenAPI linter', () => {
  let folder: string;
  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('redocly lint with redocly.yaml finds no error and no warning in either document', async () => {
    const files = (['user', 'data'] as const).map((service) => {
      const file = join(folder, `${service}-service.json`);
      writeFileSync(file, JSON.stringify(documents[service], null, 2));
      return file;
    });
    const { status, output } = await redoclyLint(files);
    expect(output).toContain('Your API descriptions are valid');
    expect(status, output).toBe(0);
  });

  it('and the same lint fails the defects it is there to catch: a /u-suffixed pattern, an operation without operationId', async () => {
    const broken = structuredClone(documents.user);
    broken.components.schemas.RegisterUser.properties.name.pattern = '^[^\\p{Cc}]*$/u';
    delete broken.paths['/register'].post.operationId;
    const file = join(folder, 'broken.json');
    writeFileSync(file, JSON.stringify(broken, null, 2));
    const { status, output } = await redoclyLint([file]);
    expect(status).not.toBe(0);
    expect(output).toContain('operation-operationId');
    // The example "Amit" no longer matches the pattern: the defect every client saw.
    expect(output).toContain('no-invalid-schema-examples');
  });
});

describe.each(['user', 'data', 'guardedData'] as const)('%s document', (service) => {
  it('compiles every schema with Ajv (JSON Schema 2020-12, strict), with plain ECMA-262 patterns', () => {
    const document = documents[service];
    const validator = new SchemaValidator(document);
    const schemas = schemasOf(document);
    for (const { at, schema } of schemas) expect(() => validator.compile(schema), at).not.toThrow();
    expect(schemas.length).toBeGreaterThan(10);

    const patterns = JSON.stringify(document).match(/"pattern":"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(patterns.length).toBeGreaterThan(0);
    for (const entry of patterns) {
      const pattern = JSON.parse(`{${entry}}`).pattern as string;
      // Without flags, the way a JSON Schema validator in any language reads it.
      expect(() => new RegExp(pattern), pattern).not.toThrow();
      expect(pattern).not.toMatch(/\/[a-z]*$/);
    }
  });

  it('names every operation uniquely, declares servers, and says what answers carry', () => {
    const document = documents[service];
    const operations = operationsOf(document);
    expect(operations.length).toBeGreaterThanOrEqual(5);
    const ids = operations.map((op) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)), ids.join()).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    for (const { operationId, operation } of operations) {
      for (const [status, declared] of Object.entries(operation.responses as Json)) {
        const response = resolve(document, declared as Json);
        expect(Object.keys(response.headers ?? {}), `${operationId} ${status}`).toContain('X-Request-Id');
        if (status === '503' && operationId !== 'getReadiness') expect(Object.keys(response.headers), `${operationId} 503`).toContain('Retry-After');
        if (status === '401' || status === '403') expect(Object.keys(response.headers), `${operationId} ${status}`).toContain('WWW-Authenticate');
      }
      // Public operations say so explicitly; the others name the scope their token needs.
      expect(operation.security, operationId).toBeDefined();
      if (operation.security.length > 0) expect(Object.keys(operation.responses), operationId).toEqual(expect.arrayContaining(['401', '403']));
    }
  });
});

describe('request bodies: what the schema accepts, the service accepts', () => {
  // Whitespace around a name is trimmed by the service, so the schema's bounds apply after trimming
  // (the document says so); these samples have none.
  const registerBodies: [string, unknown, boolean][] = [
    ['a name', { name: 'schema-ok-1' }, true],
    ['a name and info', { name: 'Zoë / Ω & co?', info: 'Platform engineer, Kochi' }, true],
    ['100 characters', { name: 'n'.repeat(100), info: '' }, true],
    ['no name', { info: 'x' }, false],
    ['an empty name', { name: '' }, false],
    ['101 characters', { name: 'm'.repeat(101) }, false],
    ['a C0 control character', { name: 'bell\u0007' }, false],
    ['a C1 control character', { name: 'next\u0085line' }, false],
    ['a number for a name', { name: 7 }, false],
    ['an info with NUL', { name: 'nul-info', info: 'a\u0000b' }, false],
    ['an unknown field', { name: 'extra', admin: true }, false],
    ['an array', [{ name: 'in-array' }], false],
    ['null', null, false],
  ];

  it.each(registerBodies)('RegisterUser with %s: schema and POST /register agree', async (_case, body, valid) => {
    const validator = new SchemaValidator(documents.user);
    const validate = validator.compile({ $ref: '#/components/schemas/RegisterUser' });
    expect(validate(body), validator.errors(validate)).toBe(valid);
    const res = await postJson(`${user.url}/register`, body);
    expect(res.status, await res.clone().text()).toBe(valid ? 201 : 400);
  });

  it.each([
    [{ info: 'new info' }, true],
    [{ info: '' }, true],
    [{}, false],
    [{ info: 5 }, false],
    [{ info: 'x', name: 'renamed' }, false],
  ] as const)('UpdateUser %j: schema and PATCH /user/{name} agree', async (body, valid) => {
    const validator = new SchemaValidator(documents.user);
    const validate = validator.compile({ $ref: '#/components/schemas/UpdateUser' });
    expect(validate(body), validator.errors(validate)).toBe(valid);
    await postJson(`${user.url}/register`, { name: 'patch-target' });
    const res = await patchJson(`${user.url}/user/patch-target`, body);
    expect(res.status).toBe(valid ? 200 : 400);
  });
});

/** How to provoke one documented answer of one operation. */
interface Scenario {
  params?: Record<string, string>;
  query?: string;
  body?: string;
  contentType?: string;
  /** Runs first, e.g. creates the user the request needs. */
  setup?: () => Promise<unknown>;
  /** PostgreSQL unreachable while the request runs. */
  outage?: boolean;
  /**
   * The Authorization header to send instead of a token with every scope (which is sent only to
   * operations whose `security` asks for one); null sends none.
   */
  authorization?: string | null;
  /** Headers to send besides Content-Type and Authorization. */
  headers?: Record<string, string>;
  /** Tells apart the ways one answer is provoked, in a failure. */
  label?: string;
}

let unique = 0;
const fresh = (label: string) => `${label}-${++unique}`;
const json = (value: unknown) => JSON.stringify(value);
const register = (name: string) => postJson(`${user.url}/register`, { name, info: 'walked' });
const tooLarge = json({ name: 'big', info: 'x'.repeat(70 * 1024) });

const probes: Record<string, Scenario> = {
  'getServiceInfo 200': {},
  'getServiceInfo 400': { query: 'verbose=1' },
  'getLiveness 200': {},
  'getLiveness 400': { query: 'x=1' },
  'getReadiness 200': {},
  'getReadiness 400': { query: 'x=1' },
  'getReadiness 503': { outage: true },
};

/**
 * The refusals of operations that need a token: no token, one that fails verification (another
 * key, expired), and a valid one without the operation's scope. Auth is checked before the request
 * is read, so the request of each operation only has to reach its route.
 */
function refusals(requests: Record<string, Scenario>, withoutScope: () => string): Record<string, () => Scenario[]> {
  return Object.fromEntries(
    Object.entries(requests).flatMap(([id, request]) => [
      [
        `${id} 401`,
        () => [
          { ...request, authorization: null, label: 'no token' },
          { ...request, authorization: credentials.foreignKey, label: 'signed with another key' },
          { ...request, authorization: credentials.expired, label: 'expired' },
        ],
      ],
      [`${id} 403`, () => [{ ...request, authorization: withoutScope(), label: 'without the scope' }]],
    ]),
  );
}

/**
 * Per service: operationId and status → how to get that answer (one way or several). Names are
 * fresh per scenario.
 */
function scenarios(service: Service): Record<string, () => Scenario | Scenario[]> {
  const shared = Object.fromEntries(Object.entries(probes).map(([key, scenario]) => [key, () => scenario]));
  if (service === 'user') {
    return {
      ...shared,
      ...refusals(
        {
          registerUser: { body: json({ name: fresh('walk-refused') }) },
          updateUser: { params: { name: 'anyone' }, body: json({ info: 'refused' }) },
          deleteUser: { params: { name: 'anyone' } },
        },
        () => credentials.readOnly,
      ),
      'registerUser 201': () => ({ body: json({ name: fresh('walk-new'), info: 'x' }) }),
      'registerUser 400': () => ({ body: json({ name: '' }) }),
      'registerUser 409': () => {
        const name = fresh('walk-taken');
        return { setup: () => register(name), body: json({ name }) };
      },
      'registerUser 413': () => ({ body: tooLarge }),
      'registerUser 415': () => ({ body: 'name=x', contentType: 'text/plain' }),
      'registerUser 503': () => ({ body: json({ name: fresh('walk-outage') }), outage: true }),
      'updateUser 200': () => {
        const name = fresh('walk-update');
        return { setup: () => register(name), params: { name }, body: json({ info: 'updated' }) };
      },
      'updateUser 400': () => ({ params: { name: 'anyone' }, body: json({}) }),
      'updateUser 404': () => ({ params: { name: fresh('walk-nobody') }, body: json({ info: 'x' }) }),
      'updateUser 413': () => ({ params: { name: 'anyone' }, body: tooLarge }),
      'updateUser 415': () => ({ params: { name: 'anyone' }, body: 'info=x', contentType: 'text/plain' }),
      'updateUser 503': () => ({ params: { name: 'anyone' }, body: json({ info: 'x' }), outage: true }),
      'deleteUser 204': () => {
        const name = fresh('walk-delete');
        return { setup: () => register(name), params: { name } };
      },
      'deleteUser 400': () => ({ params: { name: 'n'.repeat(101) } }),
      'deleteUser 404': () => ({ params: { name: fresh('walk-nobody') } }),
      'deleteUser 413': () => ({ params: { name: 'anyone' }, body: tooLarge }),
      'deleteUser 503': () => ({ params: { name: 'anyone' }, outage: true }),
    };
  }
  return {
    ...shared,
    ...(service === 'guardedData' ? refusals({ getUser: { params: { name: 'Amit' } }, listUsers: {} }, () => credentials.writeOnly) : {}),
    'getUser 200': () => {
      const name = fresh('walk-read');
      return { setup: () => register(name), params: { name } };
    },
    'getUser 400': () => ({ params: { name: 'n'.repeat(101) } }),
    'getUser 404': () => ({ params: { name: fresh('walk-nobody') } }),
    // A name never read before: no cache tier can answer it.
    'getUser 503': () => ({ params: { name: fresh('walk-unread') }, outage: true }),
    'listUsers 200': () => ({ query: 'limit=2' }),
    'listUsers 400': () => ({ query: 'limit=0' }),
    'listUsers 503': () => ({ outage: true }),
  };
}

/** Every operation's 431: node:http refuses the request before any route, so one way fits all. */
const headersTooLarge: Scenario = { params: { name: 'anyone' }, headers: { 'x-padding': 'a'.repeat(20 * 1024) }, label: 'headers over 16 KiB' };

/** Statuses no request from outside can provoke, and where they are proved instead. */
const PROVED_ELSEWHERE: Record<string, string> = {
  '500': 'an unexpected fault inside the service; services/user/test/operations.test.ts provokes it',
};

function request(base: string, { method, path, operation }: Operation, scenario: Scenario): Promise<Response> {
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(scenario.params?.[name] ?? ''));
  const url = `${base}${filled}${scenario.query ? `?${scenario.query}` : ''}`;
  const headers: Record<string, string> = { ...scenario.headers };
  if (scenario.body !== undefined) headers['content-type'] = scenario.contentType ?? 'application/json';
  const needsToken = (operation.security as Json[] | undefined)?.length;
  const authorization = scenario.authorization === undefined ? (needsToken ? credentials.all : null) : scenario.authorization;
  if (authorization !== null) headers.authorization = authorization;
  return fetch(url, { method, headers, body: scenario.body });
}

describe.each(['user', 'data', 'guardedData'] as const)('%s answers as documented (live)', (service) => {
  it('every documented operation and status, with real requests: status, headers, content type, body', async () => {
    const document = documents[service];
    const base = { user, data, guardedData }[service].url;
    const known = scenarios(service);
    const validator = new SchemaValidator(document);

    const walk: { key: string; operation: Operation; scenario: Scenario }[] = [];
    const unprovoked: string[] = [];
    for (const operation of operationsOf(document)) {
      for (const status of Object.keys(operation.operation.responses)) {
        const key = `${operation.operationId} ${status}`;
        const make = known[key] ?? (status === '431' ? () => headersTooLarge : undefined);
        if (make) walk.push(...[make()].flat().map((scenario) => ({ key, operation, scenario })));
        else if (!PROVED_ELSEWHERE[status]) unprovoked.push(key);
      }
    }
    expect(unprovoked, 'documented answers this walk cannot provoke yet: add a scenario').toEqual([]);
    const documented = new Set(walk.map((step) => step.key));
    expect(Object.keys(known).filter((key) => !documented.has(key)), 'answers the service gives that its document lacks').toEqual([]);

    const failures: string[] = [];
    const run = async ({ key, operation, scenario }: (typeof walk)[number]) => {
      const at = scenario.label ? `${key} (${scenario.label})` : key;
      await scenario.setup?.();
      const res = await request(base, operation, scenario);
      const wanted = Number(key.split(' ')[1]);
      if (res.status !== wanted) failures.push(`${at}: answered ${res.status} ${await res.text()}`);
      else failures.push(...(await mismatches(document, validator, operation, res)).map((problem) => `${at}: ${problem}`));
    };
    for (const step of walk.filter((step) => !step.scenario.outage)) await run(step);
    await proxy.cut();
    try {
      for (const step of walk.filter((step) => step.scenario.outage)) await run(step);
    } finally {
      await proxy.restore();
      await Promise.all([ready(user.url), ready(data.url), ready(guardedData.url)]);
    }
    expect(failures).toEqual([]);
    expect(walk.length).toBeGreaterThanOrEqual({ user: 36, data: 14, guardedData: 22 }[service]);
  });
});
