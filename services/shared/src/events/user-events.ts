import { z } from 'zod';

// The events user-service publishes about users, as other services receive them from the Redis
// Stream. The zod schemas are the one source: the JSON Schemas (and the AsyncAPI document) are
// generated from them, and the relay, the follow command and the consumer example decode with them.

export const USER_EVENT_TYPES = ['user.registered', 'user.updated', 'user.deleted'] as const;
export type UserEventType = (typeof USER_EVENT_TYPES)[number];

/** The NOTIFY channel the outbox announces committed events on (the relay listens to it). */
export const USER_EVENTS_CHANNEL = 'user_events';

/** W3C trace context: version-traceid-parentid-flags, lower-case hex, ids not all zero. */
export const TRACEPARENT_PATTERN = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

const UserFields = z
  .strictObject({
    name: z.string(),
    info: z.string(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .describe("The user's public fields after the change");

const envelope = {
  id: z
    .string()
    .regex(/^[1-9][0-9]*$/)
    .describe('The outbox id: increases in commit order. A consumer drops an event whose id it has already applied (delivery is at least once)'),
  name: z.string().describe("The user's name"),
  occurredAt: z.iso.datetime().describe('When the write happened'),
  traceparent: z
    .string()
    .regex(TRACEPARENT_PATTERN)
    .optional()
    .describe('W3C trace context of the request that made the change, so a consumer can continue its trace'),
  tracestate: z.string().max(512).optional().describe('W3C tracestate of that request, when it had one'),
};

export const UserRegistered = z
  .strictObject({ type: z.literal('user.registered'), ...envelope, payload: UserFields })
  .describe('A user was registered');
export const UserUpdated = z
  .strictObject({ type: z.literal('user.updated'), ...envelope, payload: UserFields })
  .describe("A user's info was replaced");
export const UserDeleted = z
  .strictObject({ type: z.literal('user.deleted'), ...envelope, payload: z.strictObject({ name: z.string() }) })
  .describe('A user was deleted');

export const UserEvent = z.discriminatedUnion('type', [UserRegistered, UserUpdated, UserDeleted]);
export type UserEvent = z.infer<typeof UserEvent>;

export const userEventSchemas: Record<UserEventType, z.ZodType> = {
  'user.registered': UserRegistered,
  'user.updated': UserUpdated,
  'user.deleted': UserDeleted,
};

/** One JSON Schema (draft-07, which every validator and AsyncAPI's default schema format read) per event type. */
export function userEventJsonSchema(type: UserEventType): Record<string, unknown> {
  return {
    $id: `urn:users:events:${type}`,
    title: type,
    ...z.toJSONSchema(userEventSchemas[type], { target: 'draft-7', io: 'output' }),
  };
}

/**
 * A stream entry's fields: `id` and `type` for consumers that filter or deduplicate without
 * parsing, `event` for the whole event as JSON.
 */
export function streamFields(event: UserEvent): string[] {
  return ['id', event.id, 'type', event.type, 'event', JSON.stringify(event)];
}

export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

/** Decodes a stream entry's flat field list (as XREAD returns it) into a validated event. */
export function decodeStreamEntry(fields: readonly string[]): UserEvent {
  const index = fields.findIndex((field, i) => i % 2 === 0 && field === 'event');
  const text = index >= 0 ? fields[index + 1] : undefined;
  if (text === undefined) throw new MalformedEventError('the entry has no event field');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MalformedEventError('the event field is not JSON');
  }
  const result = UserEvent.safeParse(parsed);
  if (!result.success) throw new MalformedEventError(`the event does not match its schema: ${result.error.issues[0]?.message}`);
  return result.data;
}
