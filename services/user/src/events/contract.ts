import type { Hono } from 'hono';
import { ProblemError } from '../../../shared/src/http/index.ts';
import { USER_EVENT_TYPES, userEventJsonSchema, type UserEventType } from '../../../shared/src/events/index.ts';

interface ContractInfo {
  version: string;
  stream: string;
  maxLength: number;
}

/** user.registered → userRegistered: AsyncAPI component keys allow no dots. */
const messageName = (type: UserEventType) => type.replace(/\.(\w)/, (_, letter: string) => letter.toUpperCase());

/**
 * The stream's AsyncAPI 3 document: one channel (the stream), the operation user-service performs
 * on it, and one message per event type whose payload is that type's JSON Schema.
 */
export function asyncApiDocument({ version, stream, maxLength }: ContractInfo) {
  const messages = Object.fromEntries(
    USER_EVENT_TYPES.map((type) => [
      messageName(type),
      {
        name: type,
        title: type,
        contentType: 'application/json',
        summary: `The \`event\` field of a stream entry whose \`type\` is ${type}`,
        payload: { $ref: `#/components/schemas/${messageName(type)}` },
      },
    ]),
  );
  const messageRefs = USER_EVENT_TYPES.map((type) => ({ $ref: `#/channels/userEvents/messages/${messageName(type)}` }));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'user-service events',
      version,
      description: [
        `What happened to a user, published to the Redis Stream \`${stream}\` once the change is committed (a transactional outbox), at least once and in commit order.`,
        'Each stream entry has three fields: `id` (the outbox id), `type` (the event type) and `event` (the event as JSON, the message below).',
        'Read it with a consumer group (XREADGROUP, XACK, XAUTOCLAIM for what a dead consumer left pending), and drop an event whose `id` is not above the last one applied for that user: duplicates happen around a relay crash.',
        `The stream keeps about the last ${maxLength} entries (XADD MAXLEN ~).`,
      ].join('\n\n'),
    },
    defaultContentType: 'application/json',
    channels: {
      userEvents: {
        address: stream,
        title: 'User events',
        description: 'A Redis Stream; the address is its key',
        messages: Object.fromEntries(USER_EVENT_TYPES.map((type) => [messageName(type), { $ref: `#/components/messages/${messageName(type)}` }])),
      },
    },
    operations: {
      publishUserEvents: {
        action: 'send',
        title: 'Publish user events',
        summary: "user-service's relay adds each committed event to the stream (XADD)",
        channel: { $ref: '#/channels/userEvents' },
        messages: messageRefs,
      },
    },
    components: {
      messages,
      schemas: Object.fromEntries(USER_EVENT_TYPES.map((type) => [messageName(type), withoutDialect(userEventJsonSchema(type))])),
    },
  };
}

/** AsyncAPI's default schema format is a superset of draft-07 and takes the schema without its $schema and $id. */
function withoutDialect({ $schema: _dialect, $id: _id, ...schema }: Record<string, unknown>): Record<string, unknown> {
  return schema;
}

/**
 * Serves the event contract beside /openapi.json: the AsyncAPI document at /asyncapi.json and each
 * event type's JSON Schema at /events/schemas/<type>.json.
 */
export function serveEventContract(app: Hono<any>, info: ContractInfo): void {
  let document: ReturnType<typeof asyncApiDocument> | undefined;
  app.get('/asyncapi.json', (c) => c.json((document ??= asyncApiDocument(info))));
  app.get('/events/schemas/:file', (c) => {
    const type = USER_EVENT_TYPES.find((each) => `${each}.json` === c.req.param('file'));
    if (!type) throw new ProblemError({ status: 404, detail: `no event type has a schema named "${c.req.param('file')}"; the types are ${USER_EVENT_TYPES.join(', ')}` });
    return c.body(JSON.stringify(userEventJsonSchema(type)), 200, { 'content-type': 'application/schema+json' });
  });
}
