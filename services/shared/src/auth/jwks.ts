import type { HonoJsonWebKey } from 'hono/utils/jwt/jws';
import type { Logger } from '../observability/index.ts';

export interface JwksOptions {
  url: string;
  /** Keys younger than this are used without asking the provider. */
  cacheMs: number;
  /** Least time between fetches caused by an unknown kid. */
  cooldownMs: number;
  logger: Logger;
  fetchTimeoutMs?: number;
}

export interface JwksKeys {
  /** The keys to verify a token naming `kid` with; fetches first when that kid is unknown. Never throws. */
  keysFor(kid: string | undefined): Promise<HonoJsonWebKey[]>;
  /** How many keys are cached (readiness and logs). */
  size(): number;
}

/**
 * An identity provider's signing keys, cached. Keys rotate without a restart: a token whose kid is
 * not cached causes a fetch (at most one per cooldown, so forged kids cannot flood the provider).
 * A provider that is down changes nothing for tokens whose key is cached: stale keys stay in use
 * until a fetch succeeds.
 */
export function createJwksKeys({ url, cacheMs, cooldownMs, logger, fetchTimeoutMs = 5_000 }: JwksOptions): JwksKeys {
  let keys: HonoJsonWebKey[] = [];
  let fetchedAt = 0;
  let lastAttempt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  const refresh = (): Promise<void> => (inFlight ??= fetchKeys().finally(() => (inFlight = undefined)));

  async function fetchKeys(): Promise<void> {
    lastAttempt = Date.now();
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(fetchTimeoutMs), headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`the provider answered ${response.status}`);
      const body = (await response.json()) as { keys?: unknown };
      if (!Array.isArray(body.keys)) throw new Error('the answer has no "keys" array');
      // Signing keys only; a key without kid could never be chosen for a token.
      const signing = (body.keys as HonoJsonWebKey[]).filter((key) => typeof key?.kid === 'string' && (key as { use?: string }).use !== 'enc');
      if (signing.length === 0) throw new Error('the answer holds no signing key with a kid');
      const before = new Set(keys.map((key) => key.kid));
      keys = signing;
      fetchedAt = Date.now();
      const added = signing.filter((key) => !before.has(key.kid)).length;
      if (added > 0) logger.info({ keys: signing.length, added }, 'JWKS keys loaded');
    } catch (error) {
      logger.warn({ err: error, cachedKeys: keys.length }, 'JWKS fetch failed; keeping the cached keys');
    }
  }

  // Fetch at start so the first request does not wait for the provider.
  void refresh();

  return {
    async keysFor(kid) {
      if (inFlight && keys.length === 0) await inFlight;
      const known = kid !== undefined && keys.some((key) => key.kid === kid);
      if (known) {
        if (Date.now() - fetchedAt > cacheMs && Date.now() - lastAttempt > cooldownMs) void refresh();
        return keys;
      }
      if (kid !== undefined && (inFlight || Date.now() - lastAttempt >= cooldownMs)) await refresh();
      return keys;
    },
    size: () => keys.length,
  };
}
