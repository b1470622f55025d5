import { commonEnv, env } from '../../shared/src/config.ts';

export const userEnv = commonEnv.extend({
  PORT: env.listenPort.default(5000),
  MIGRATE_ON_START: env.flag.default(true),
  SEED_DEMO_USERS: env.flag.default(false),
});

export type UserConfig = typeof userEnv._output;
