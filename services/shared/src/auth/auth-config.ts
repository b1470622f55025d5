import { z } from 'zod';
import { env } from '../config/index.ts';

/** HS256 keys shorter than the hash output make brute-forcing a token's signature practical. */
export const MIN_SECRET_BYTES = 32;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Authentication settings both services read. Each service then decides with `authRefinement`
 * whether it needs a key: user-service always (writes), data-service only while reads need a token.
 */
export const authEnv = {
  /** On unless turned off explicitly; every start with it off logs a warning. */
  AUTH: z.enum(['enabled', 'disabled'], { error: 'expected enabled or disabled' }).default('enabled'),
  /** `token`: GET /user/:name and GET /users need a token with the users:read scope. */
  AUTH_READS: z.enum(['public', 'token'], { error: 'expected public or token' }).default('public'),
  JWT_SECRET: z
    .string()
    .refine((value) => Buffer.byteLength(value, 'utf8') >= MIN_SECRET_BYTES, `must be at least ${MIN_SECRET_BYTES} bytes`)
    .optional(),
  JWKS_URL: z
    .url({ protocol: /^https?$/, error: 'expected an https:// URL' })
    // Keys fetched in clear text could be replaced on the way; plain http only to this host.
    .refine((value) => new URL(value).protocol === 'https:' || LOOPBACK.has(new URL(value).hostname), 'expected an https:// URL (http only for localhost)')
    .optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  /** How long fetched keys count as fresh; after that they are refetched in the background, and kept if that fails. */
  JWKS_CACHE_SECONDS: env.positiveInt.max(86_400).default(600),
  /** Least time between two fetches caused by tokens naming an unknown key (each forged kid would cost a fetch). */
  JWKS_COOLDOWN_SECONDS: env.nonNegativeInt.max(3_600).default(10),
};

export interface AuthConfig {
  AUTH: 'enabled' | 'disabled';
  AUTH_READS: 'public' | 'token';
  JWT_SECRET?: string | undefined;
  JWKS_URL?: string | undefined;
  JWT_ISSUER?: string | undefined;
  JWT_AUDIENCE?: string | undefined;
  JWKS_CACHE_SECONDS: number;
  JWKS_COOLDOWN_SECONDS: number;
}

/**
 * The checks that span variables, as one configuration line each. `needsKey` says when this
 * service verifies tokens at all.
 */
export function authRefinement(needsKey: (config: AuthConfig) => boolean) {
  return (config: AuthConfig, ctx: z.RefinementCtx): void => {
    if (config.JWT_SECRET && config.JWKS_URL) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'set JWT_SECRET or JWKS_URL, not both' });
      return;
    }
    if (config.AUTH === 'disabled' || !needsKey(config)) return;
    if (!config.JWT_SECRET && !config.JWKS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['JWT_SECRET or JWKS_URL'],
        message: 'one of them is required while AUTH is not disabled (AUTH=disabled turns authentication off)',
      });
    }
  };
}
