import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { jwk } from 'hono/jwk';
import { jwt } from 'hono/jwt';
import type { AuthConfig } from './auth-config.ts';
import { createJwksKeys } from './jwks.ts';
import type { Logger } from '../observability/index.ts';
import { problem } from '../http/index.ts';

export const SCOPES = { write: 'users:write', read: 'users:read' } as const;

/** Clocks of the issuer and of this pod may differ by this much; exp, nbf and iat allow for it. */
export const CLOCK_SKEW_SECONDS = 30;

/** The algorithms accepted from an identity provider's JWKS (asymmetric only). */
const JWKS_ALGORITHMS = ['RS256', 'ES256'] as const;

export interface Auth {
  /** Middleware: the request needs a valid token whose scope includes `scope`. */
  require(scope: string): MiddlewareHandler;
  /** false with AUTH=disabled: every request is let through. */
  readonly enabled: boolean;
}

export interface AuthOptions {
  config: AuthConfig;
  logger: Logger;
  /** The `realm` of the WWW-Authenticate challenge: the service's name. */
  realm: string;
}

interface Refusal {
  status: 401 | 403;
  /** RFC 6750 error code; none when the request carried no credentials at all. */
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  /** Short and safe to show: it names the problem, never the token. */
  reason: string;
  scope?: string;
}

/**
 * Verification is Hono's own: hono/jwt (HS256 with JWT_SECRET) or hono/jwk (RS256/ES256 keys from
 * JWKS_URL, cached by jwks.ts). Around it this adds what the services promise: problem+json
 * answers with a Bearer challenge, a clock skew on the time claims (Hono allows none), a required
 * expiry, the scope check, and an info line with the reason (never the token).
 */
export function createAuth({ config, logger, realm }: AuthOptions): Auth {
  if (config.AUTH === 'disabled') {
    return { enabled: false, require: () => async (_c, next) => next() };
  }
  // Time claims are checked below, with the skew.
  const verification = { iss: config.JWT_ISSUER, aud: config.JWT_AUDIENCE, exp: false, nbf: false, iat: false };
  let verify: MiddlewareHandler;
  if (config.JWT_SECRET) {
    verify = jwt({ secret: config.JWT_SECRET, alg: 'HS256', verification, realm });
  } else if (config.JWKS_URL) {
    const keys = createJwksKeys({
      url: config.JWKS_URL,
      cacheMs: config.JWKS_CACHE_SECONDS * 1000,
      cooldownMs: config.JWKS_COOLDOWN_SECONDS * 1000,
      logger,
    });
    verify = jwk({ keys: (c) => keys.keysFor(kidOf(c)), alg: [...JWKS_ALGORITHMS], verification, realm });
  } else {
    // authRefinement stops the process before this; a service that does not verify never asks.
    return { enabled: true, require: () => async (c) => refuse(c, { status: 401, error: 'invalid_token', reason: 'no verification key is configured' }) };
  }

  const refuse = (c: Context, refusal: Refusal): Response => {
    logger.info({ requestId: c.get('requestId' as never), method: c.req.method, path: c.req.path, status: refusal.status, reason: refusal.reason }, 'request refused');
    const challenge = [`Bearer realm="${realm}"`];
    if (refusal.error) challenge.push(`error="${refusal.error}"`, `error_description="${refusal.reason}"`);
    if (refusal.scope) challenge.push(`scope="${refusal.scope}"`);
    return problem(c, {
      status: refusal.status,
      detail: refusal.reason,
      headers: { 'www-authenticate': challenge.join(', ') },
    });
  };

  return {
    enabled: true,
    require(scope) {
      return async (c, next) => {
        if (!c.req.header('authorization')) return refuse(c, { status: 401, reason: 'this request needs an Authorization: Bearer token' });
        let verified = false;
        try {
          await verify(c, async () => {
            verified = true;
          });
        } catch (error) {
          return refuse(c, verificationRefusal(error));
        }
        if (!verified) return refuse(c, { status: 401, error: 'invalid_token', reason: 'the token could not be verified' });

        const payload = c.get('jwtPayload' as never) as Record<string, unknown>;
        const timeProblem = timeClaimsProblem(payload, Math.floor(Date.now() / 1000));
        if (timeProblem) return refuse(c, { status: 401, error: 'invalid_token', reason: timeProblem });
        if (!scopesOf(payload).includes(scope)) {
          return refuse(c, { status: 403, error: 'insufficient_scope', reason: `the token lacks the ${scope} scope`, scope });
        }
        await next();
      };
    },
  };
}

/** What a failure of Hono's middleware means. Its error messages quote the token, so only the class is read. */
function verificationRefusal(error: unknown): Refusal {
  if (!(error instanceof HTTPException) || error.status !== 401) {
    return { status: 401, error: 'invalid_token', reason: 'the token could not be verified' };
  }
  const cause = error.cause instanceof Error ? error.cause.name : undefined;
  if (cause === undefined) return { status: 401, error: 'invalid_request', reason: 'expected "Authorization: Bearer <token>"' };
  return { status: 401, error: 'invalid_token', reason: REASONS[cause] ?? 'the token could not be verified' };
}

const REASONS: Record<string, string> = {
  JwtTokenInvalid: 'the token is malformed or signed by an unknown key',
  JwtHeaderInvalid: 'the token header is invalid or names an algorithm that is not accepted',
  JwtHeaderRequiresKid: 'the token header names no key (kid)',
  JwtAlgorithmMismatch: 'the token is signed with an algorithm that is not accepted',
  JwtAlgorithmNotAllowed: 'the token is signed with an algorithm that is not accepted',
  JwtSymmetricAlgorithmNotAllowed: 'the token is signed with an algorithm that is not accepted',
  JwtAlgorithmNotImplemented: 'the token is signed with an algorithm that is not accepted',
  JwtTokenSignatureMismatched: 'the token signature is invalid',
  JwtTokenIssuer: 'the token comes from another issuer',
  JwtTokenAudience: 'the token is meant for another audience',
  JwtPayloadRequiresAud: 'the token is meant for another audience',
};

/** exp is required; exp, nbf and iat are compared with CLOCK_SKEW_SECONDS of tolerance. */
function timeClaimsProblem(payload: Record<string, unknown>, now: number): string | undefined {
  const { exp, nbf, iat } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 'the token has no expiry (exp)';
  if (now - CLOCK_SKEW_SECONDS >= exp) return 'the token has expired';
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + CLOCK_SKEW_SECONDS)) return 'the token is not valid yet (nbf)';
  if (iat !== undefined && (typeof iat !== 'number' || iat > now + CLOCK_SKEW_SECONDS)) return 'the token was issued in the future (iat)';
  return undefined;
}

/** OAuth's space-separated `scope`, or the `scp` array some identity providers send instead. */
function scopesOf(payload: Record<string, unknown>): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean);
  if (Array.isArray(payload.scp)) return payload.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

/** The kid of the bearer token's header, to look up its key; undefined when unreadable. */
function kidOf(c: Context): string | undefined {
  const header = c.req.header('authorization')?.split(/\s+/)[1]?.split('.')[0];
  if (!header) return undefined;
  try {
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}

/** AUTH=disabled is a choice someone made; it is repeated at every start so nobody forgets it. */
export function warnIfAuthDisabled(config: AuthConfig, logger: Logger): void {
  if (config.AUTH === 'disabled') logger.warn('AUTH=disabled: authentication is off, anyone who reaches this service may use every operation');
}
