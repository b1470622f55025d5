import { z } from 'zod';
import { authEnv, authRefinement, parseTtl } from '../../shared/src/auth/index.ts';
import { commonEnv, env } from '../../shared/src/config/index.ts';

/** A duration such as 30m, 24h or 7d, in seconds. */
const duration = z.string().transform((text, ctx) => {
  const seconds = parseTtl(text);
  if (seconds === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a number with s, m, h or d, e.g. 24h' });
    return z.NEVER;
  }
  return seconds;
});

export const userEnv = commonEnv
  .extend({
    PORT: env.listenPort.default(5000),
    MIGRATE_ON_START: env.flag.default(true),
    SEED_DEMO_USERS: env.flag.default(false),
    /** Writes record events in the outbox and a relay publishes them to EVENTS_STREAM. */
    EVENTS_ENABLED: env.flag.default(true),
    /** The Redis Stream the events go to; outside REDIS_KEY_PREFIX, whose keys data-service may delete. */
    EVENTS_STREAM: z.string().min(1).default('user-events'),
    /** The stream is trimmed to about this many entries (XADD MAXLEN ~). */
    EVENTS_STREAM_MAX_LENGTH: env.positiveInt.default(100_000),
    /** Published events stay in the outbox this long, then are pruned. */
    EVENTS_RETENTION: duration.default(86_400),
    /**
     * A write answers once every data-service replica has dropped the name from its in-process
     * tier (or run out of its lease). false answers after the Redis eviction alone, and a read
     * right after a write may then get the old answer from a replica for a few milliseconds.
     */
    WRITES_AWAIT_REPLICAS: env.flag.default(true),
    ...authEnv,
  })
  // Every write is authenticated: a key is needed unless AUTH=disabled.
  .superRefine(authRefinement(() => true))
  .superRefine((config, ctx) => {
    if (config.EVENTS_STREAM.startsWith(config.REDIS_KEY_PREFIX)) {
      ctx.addIssue({ code: 'custom', path: ['EVENTS_STREAM'], message: 'must lie outside REDIS_KEY_PREFIX (data-service deletes keys under it)' });
    }
  });

export type UserConfig = z.infer<typeof userEnv>;
