// The events user-service publishes to the Redis Stream: one zod schema per event type, the JSON
// Schemas generated from them, and the stream entry's encoding; the relay, the follow command and
// consumers all use these.
export * from './user-events.ts';
