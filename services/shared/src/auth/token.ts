import { sign } from 'hono/jwt';

export interface TokenRequest {
  secret: string;
  /** Space-separated scopes, e.g. "users:write". */
  scope: string;
  ttlSeconds: number;
  subject?: string | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** An HS256 token the services accept when they share `secret` (JWT_SECRET). */
export function signToken({ secret, scope, ttlSeconds, subject, issuer, audience }: TokenRequest): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      scope,
      iat: now,
      exp: now + ttlSeconds,
      ...(subject && { sub: subject }),
      ...(issuer && { iss: issuer }),
      ...(audience && { aud: audience }),
    },
    secret,
    'HS256',
  );
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** "90s", "15m", "1h", "7d" → seconds; undefined when unreadable. */
export function parseTtl(text: string): number | undefined {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  return seconds > 0 ? seconds : undefined;
}
