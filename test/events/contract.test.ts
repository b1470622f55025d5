// The event contract as consumers get it: one JSON Schema per event type, generated from the zod
// schemas and served beside /openapi.json, checked by a real validator (ajv) against the events
// really published; and the AsyncAPI 3 document, checked by the AsyncAPI parser.
import { Parser } from '@asyncapi/parser';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_EVENT_TYPES } from '../../services/shared/src/events/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { authHeader, deleteUser, patchJson, postJson, REDIS_PORT, startUser, waitFor } from '../support/services.ts';

let db: TestDatabase;
let redis: Redis;
let service: Awaited<ReturnType<typeof startUser>>;
const validators = new Map<string, ValidateFunction>();

beforeAll(async () => {
  db = await createTestDatabase('events_contract');
  redis = new Redis({ port: REDIS_PORT });
  service = await startUser(db.name);
  await service.migrated;
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats.default(ajv);
  for (const type of USER_EVENT_TYPES) {
    const res = await fetch(`${service.url}/events/schemas/${type}.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/schema+json');
    validators.set(type, ajv.compile((await res.json()) as object));
  }
});
afterAll(async () => {
  await service?.stop();
  redis?.disconnect();
  await db?.drop();
});

describe('JSON Schemas of the events', () => {
  it('every event published for a register, an update and a delete validates against the schema of its type', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await postJson(`${service.url}/register`, { name: 'Priya', info: 'Product designer' }, { headers: { 'content-type': 'application/json', traceparent, ...(await authHeader()) } });
    await patchJson(`${service.url}/user/Priya`, { info: 'Design lead' });
    await deleteUser(`${service.url}/user/Priya`);
    await waitFor(async () => (await redis.xlen(db.eventStream)) === 3, 10_000);
    const entries = await redis.xrange(db.eventStream, '-', '+');
    const types: string[] = [];
    for (const [, fields] of entries) {
      const record = Object.fromEntries(fields.flatMap((field, i) => (i % 2 === 0 ? [[field, fields[i + 1]]] : [])));
      const event = JSON.parse(record.event!);
      expect(record.id).toBe(event.id);
      expect(record.type).toBe(event.type);
      const validate = validators.get(event.type)!;
      expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
      types.push(event.type);
    }
    expect(types).toEqual(['user.registered', 'user.updated', 'user.deleted']);
  });

  it('the schemas refuse what a consumer could not rely on: a missing field, an unknown one, a non-numeric id, a bad traceparent', () => {
    const registered = validators.get('user.registered')!;
    const good = {
      type: 'user.registered',
      id: '42',
      name: 'Amit',
      occurredAt: '2026-01-01T00:00:00.000Z',
      payload: { name: 'Amit', info: '', createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' },
    };
    expect(registered(good)).toBe(true);
    expect(registered({ ...good, payload: { ...good.payload, info: undefined } })).toBe(false);
    expect(registered({ ...good, password: 'x' })).toBe(false);
    expect(registered({ ...good, id: '4e2' })).toBe(false);
    expect(registered({ ...good, traceparent: '00-xyz' })).toBe(false);
    expect(registered({ ...good, type: 'user.deleted' })).toBe(false);
    expect(validators.get('user.deleted')!({ ...good, type: 'user.deleted', payload: { name: 'Amit' } })).toBe(true);
  });

  it('answers 404 (problem+json) for a schema of no event type', async () => {
    const res = await fetch(`${service.url}/events/schemas/user.renamed.json`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('AsyncAPI document', () => {
  it('is a valid AsyncAPI 3 document for the stream, with the served schemas as its message payloads', async () => {
    const document = (await (await fetch(`${service.url}/asyncapi.json`)).json()) as any;
    const diagnostics = await new Parser().validate(JSON.stringify(document));
    expect(diagnostics.filter((diagnostic) => diagnostic.severity <= 1).map((diagnostic) => diagnostic.message)).toEqual([]);
    expect(document.asyncapi).toMatch(/^3\./);
    expect(document.channels.userEvents.address).toBe(db.eventStream);
    for (const type of USER_EVENT_TYPES) {
      const message = Object.values(document.components.messages).find((each: any) => each.name === type) as any;
      const served = (await (await fetch(`${service.url}/events/schemas/${type}.json`)).json()) as any;
      const { $schema: _dialect, $id: _id, ...payload } = served;
      expect(document.components.schemas[message.payload.$ref.split('/').at(-1)]).toEqual(payload);
    }
  });

  it('a broken document is caught by the same parser', async () => {
    const document = (await (await fetch(`${service.url}/asyncapi.json`)).json()) as any;
    document.operations.publishUserEvents.action = 'publish';
    const diagnostics = await new Parser().validate(JSON.stringify(document));
    expect(diagnostics.some((diagnostic) => diagnostic.severity === 0)).toBe(true);
  });
});
