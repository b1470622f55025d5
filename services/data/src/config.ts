import type { z } from 'zod';
import { authEnv, authRefinement } from '../../shared/src/auth/index.ts';
import { commonEnv, env } from '../../shared/src/config/index.ts';

export const dataEnv = commonEnv.extend({
  PORT: env.listenPort.default(5001),
  /** Redis entries are evicted on every write; the TTL is only the safety net. */
  CACHE_TTL_SECONDS: env.positiveInt.default(300),
  /** "No such user" is cached briefly so scans of unknown names don't all reach PostgreSQL. */
  CACHE_NEGATIVE_TTL_SECONDS: env.positiveInt.default(30),
  /** The in-process tier in front of Redis: short-lived, bounded by entries and bytes. */
  LOCAL_CACHE_TTL_MS: env.nonNegativeInt.default(5_000),
  LOCAL_CACHE_MAX_ENTRIES: env.positiveInt.default(10_000),
  LOCAL_CACHE_MAX_BYTES: env.positiveInt.default(32 * 1024 * 1024),
  ...authEnv,
})
  // Reads are public unless AUTH_READS=token; only then does data-service verify tokens.
  .superRefine(authRefinement((config) => config.AUTH_READS === 'token'));

export type DataConfig = z.infer<typeof dataEnv>;
