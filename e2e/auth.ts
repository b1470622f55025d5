// The token `npm run e2e` writes with: $E2E_TOKEN when set (e.g. from an identity provider), else
// one signed for ten minutes with the release's key, read from its Secret through the Kubernetes
// API (the chart's <release>-auth, or E2E_AUTH_SECRET / E2E_AUTH_SECRET_KEY for auth.existingSecret).

import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { signToken } from '../services/shared/src/auth/index.ts';

export interface TokenSource {
  token?: string;
  /** Where it came from, for the log: never the token itself. */
  origin: string;
}

export async function obtainToken(kubeConfig: KubeConfig, namespace: string, release: string, env: NodeJS.ProcessEnv): Promise<TokenSource> {
  if (env.E2E_TOKEN) return { token: env.E2E_TOKEN, origin: 'E2E_TOKEN' };
  const name = env.E2E_AUTH_SECRET || `${release}-auth`;
  const key = env.E2E_AUTH_SECRET_KEY || 'jwt-secret';
  let data: Record<string, string> | undefined;
  try {
    data = (await kubeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace })).data;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) {
      return { origin: `no Secret "${name}": writes go without a token (set E2E_TOKEN when the release verifies tokens of an identity provider)` };
    }
    throw error;
  }
  const secret = data?.[key];
  if (!secret) throw new Error(`Secret "${name}" has no key "${key}" (set E2E_AUTH_SECRET_KEY)`);
  const token = await signToken({ secret: Buffer.from(secret, 'base64').toString('utf8'), scope: 'users:write users:read', ttlSeconds: 600, subject: 'e2e' });
  return { token, origin: `signed with the key in Secret "${name}"` };
}
