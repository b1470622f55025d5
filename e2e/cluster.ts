// Finding the cluster the user's kubectl points at, and telling "no cluster here" apart from "a
// cluster that misbehaves": the first is a skip (exit 77), the second a failure.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ApiException, KubeConfig, VersionApi } from '@kubernetes/client-node';

export class NoClusterError extends Error {}

/** Loads the kubeconfig the way kubectl does: $KUBECONFIG (a path list), else ~/.kube/config, else in-cluster. */
export function loadKubeConfig(env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kubeConfig = new KubeConfig();
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  // kubectl ignores missing files in $KUBECONFIG; the client library would throw ENOENT instead.
  const files = listed.length > 0 ? listed.filter((file) => existsSync(file)) : [path.join(homedir(), '.kube', 'config')].filter((file) => existsSync(file));

  if (files.length > 0) {
    const [first, ...rest] = files as [string, ...string[]];
    kubeConfig.loadFromFile(first);
    for (const file of rest) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kubeConfig.mergeConfig(more);
    }
  } else if (env.KUBERNETES_SERVICE_HOST) {
    kubeConfig.loadFromCluster();
  } else {
    // Without this check the library falls back to http://localhost:8080, which only confuses.
    throw new NoClusterError(listed.length > 0 ? `no kubeconfig file exists at ${listed.join(path.delimiter)}` : 'no kubeconfig found (~/.kube/config or $KUBECONFIG)');
  }

  if (!kubeConfig.getCurrentContext() || !kubeConfig.getCurrentCluster()) {
    throw new NoClusterError('the kubeconfig has no current context with a cluster');
  }
  return kubeConfig;
}

/** Asks the API server for its version; a transport failure means there is no cluster to test. */
export async function ensureReachable(kubeConfig: KubeConfig, timeoutMs: number): Promise<string> {
  const server = kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const where = `context "${kubeConfig.getCurrentContext()}" at ${server}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoClusterError(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const version = await Promise.race([kubeConfig.makeApiClient(VersionApi).getCode(), timeout]);
    return `${where}, Kubernetes ${version.gitVersion}`;
  } catch (error) {
    // An HTTP answer (401, 403, 500…) proves a server is there: that is a failure, not a skip.
    if (error instanceof ApiException) throw new Error(`the API server at ${server} answered ${error.code}`);
    // Only "nothing answered" is a skip; a TLS or credential-plugin error is a broken setup.
    if (error instanceof NoClusterError || UNREACHABLE.has(errorCode(error) ?? '')) {
      throw new NoClusterError(`${where}: ${describeTransportError(error)}`);
    }
    throw new Error(`${where}: ${describeTransportError(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Socket errors that mean no server is listening at the address, or none can be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** fetch wraps the socket error ("fetch failed"); its cause names what actually happened. */
function transportCause(error: unknown): unknown {
  return error instanceof Error && error.cause instanceof Error ? error.cause : error;
}

function errorCode(error: unknown): string | undefined {
  return (transportCause(error) as NodeJS.ErrnoException | undefined)?.code;
}

function describeTransportError(error: unknown): string {
  const cause = transportCause(error);
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message;
  }
  return String(cause);
}
