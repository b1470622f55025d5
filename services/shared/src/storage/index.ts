// The clients to PostgreSQL (db.ts) and Redis (redis.ts), and the bounds on waiting for them
// (time.ts: timeouts for calls that may hang on a dead peer, retries for start-up).
export * from './db.ts';
export * from './redis.ts';
export * from './time.ts';
