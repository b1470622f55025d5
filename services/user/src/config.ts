import type { z } from 'zod';
import { authEnv, authRefinement } from '../../shared/src/auth/index.ts';
import { commonEnv, env } from '../../shared/src/config/index.ts';

export const userEnv = commonEnv
  .extend({
    PORT: env.listenPort.default(5000),
    MIGRATE_ON_START: env.flag.default(true),
    SEED_DEMO_USERS: env.flag.default(false),
    /**
     * A write answers once every data-service replica has dropped the name from its in-process
     * tier (or run out of its lease). false answers after the Redis eviction alone, and a read
     * right after a write may then get the old answer from a replica for a few milliseconds.
     */
    WRITES_AWAIT_REPLICAS: env.flag.default(true),
    ...authEnv,
  })
  // Every write is authenticated: a key is needed unless AUTH=disabled.
  .superRefine(authRefinement(() => true));

export type UserConfig = z.infer<typeof userEnv>;
