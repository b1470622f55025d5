// `npm run token -- --scope users:write --ttl 1h`: prints a token signed with JWT_SECRET, for
// people and scripts (curl, helm test, e2e). The same program runs inside the user-service image:
//   kubectl exec deploy/<release>-user-service -- npm run -s token -- --scope users:write
// Only the token goes to stdout, so `TOKEN=$(npm run -s token -- …)` works.
import { parseArgs } from 'node:util';
import { MIN_SECRET_BYTES, parseTtl, signToken } from '../../shared/src/auth/index.ts';

const USAGE = 'usage: npm run token -- [--scope "users:write users:read"] [--ttl 1h] [--sub name] [--iss issuer] [--aud audience]';
/** Long-lived tokens cannot be revoked short of rotating the secret, so their life is capped. */
const MAX_TTL_SECONDS = 30 * 86_400;

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n`);
  process.exit(1);
}

let values: Record<string, string | string[] | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      scope: { type: 'string', multiple: true },
      ttl: { type: 'string', default: '1h' },
      sub: { type: 'string' },
      iss: { type: 'string' },
      aud: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`);
}
if (values.help) {
  process.stdout.write(`${USAGE}\nSigns with JWT_SECRET; --iss and --aud default to JWT_ISSUER and JWT_AUDIENCE.\n`);
  process.exit(0);
}

const secret = process.env.JWT_SECRET ?? '';
if (!secret) fail('JWT_SECRET is not set (it must be the secret the services verify with)');
if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES) fail(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
const ttlSeconds = parseTtl(String(values.ttl));
if (ttlSeconds === undefined) fail(`--ttl: expected a number with s, m, h or d, e.g. 1h; got "${String(values.ttl)}"`);
if (ttlSeconds > MAX_TTL_SECONDS) fail('--ttl: at most 30d');
const scope = ((values.scope as string[] | undefined) ?? ['users:write']).join(' ').split(/\s+/).filter(Boolean).join(' ');

const token = await signToken({
  secret,
  scope,
  ttlSeconds,
  subject: (values.sub as string | undefined) ?? process.env.USER ?? 'cli',
  issuer: (values.iss as string | undefined) ?? (process.env.JWT_ISSUER || undefined),
  audience: (values.aud as string | undefined) ?? (process.env.JWT_AUDIENCE || undefined),
});
process.stdout.write(`${token}\n`);
