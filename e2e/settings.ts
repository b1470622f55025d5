// What `npm run e2e` targets, from the environment, with defaults that match `make deploy`,
// `skaffold dev` and k8s-dev/ (release "users" in the current context's namespace).

export interface Settings {
  release: string;
  /** undefined: the current context's namespace, else "default", as kubectl does. */
  namespace: string | undefined;
  userDeployment: string;
  dataDeployment: string;
  rolloutTimeoutMs: number;
  connectTimeoutMs: number;
  coherenceTimeoutMs: number;
  pollMs: number;
  /** 0 picks a free local port. */
  userLocalPort: number;
  dataLocalPort: number;
}

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const release = text(env.E2E_RELEASE) ?? 'users';
  return {
    release,
    namespace: text(env.E2E_NAMESPACE),
    userDeployment: text(env.E2E_USER_DEPLOYMENT) ?? `${release}-user-service`,
    dataDeployment: text(env.E2E_DATA_DEPLOYMENT) ?? `${release}-data-service`,
    rolloutTimeoutMs: number(env, 'E2E_TIMEOUT_SECONDS', 300) * 1000,
    connectTimeoutMs: number(env, 'E2E_CONNECT_TIMEOUT_MS', 5_000),
    coherenceTimeoutMs: number(env, 'E2E_COHERENCE_TIMEOUT_MS', 10_000),
    pollMs: number(env, 'E2E_POLL_MS', 2_000),
    userLocalPort: number(env, 'E2E_USER_LOCAL_PORT', 0),
    dataLocalPort: number(env, 'E2E_DATA_LOCAL_PORT', 0),
  };
}

function text(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = text(env[name]);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  return parsed;
}
