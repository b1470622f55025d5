import type { z } from 'zod';
import { authEnv, authRefinement } from '../../shared/src/auth/index.ts';
import { commonEnv, env } from '../../shared/src/config/index.ts';

export const userEnv = commonEnv
  .extend({
    PORT: env.listenPort.default(5000),
    MIGRATE_ON_START: env.flag.default(true),
    SEED_DEMO_USERS: env.flag.default(false),
    ...authEnv,
  })
  // Every write is authenticated: a key is needed unless AUTH=disabled.
  .superRefine(authRefinement(() => true));

export type UserConfig = z.infer<typeof userEnv>;
