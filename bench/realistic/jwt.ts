import { createHmac } from 'node:crypto';

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/**
 * An HS256 bearer token for user-service writes, signed with node:crypto so the benchmark takes
 * the authenticated path a real client takes once user-service checks tokens (JWT_SECRET, scope
 * `users:write`). Issuer and audience are added only when configured.
 */
export function signWriteToken(secret: string, { issuer, audience, lifetimeSeconds = 3600 }: { issuer?: string; audience?: string; lifetimeSeconds?: number } = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = { sub: 'benchmark', scope: 'users:write', iat: now, exp: now + lifetimeSeconds };
  if (issuer) claims.iss = issuer;
  if (audience) claims.aud = audience;
  const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}
