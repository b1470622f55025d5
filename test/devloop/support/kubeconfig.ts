import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A kubeconfig file whose current context points at `server` (a fake, or nothing at all). */
export function kubeconfigFor(server: string, cluster: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'devloop-kubeconfig-')), 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      // skip-verify: the client refuses plain http otherwise, and the fakes have no TLS.
      `clusters: [{name: ${cluster}, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
      'users: [{name: developer, user: {token: not-a-secret}}]',
      `contexts: [{name: kind-${cluster}, context: {cluster: ${cluster}, user: developer}}]`,
      `current-context: kind-${cluster}`,
    ].join('\n'),
  );
  return file;
}
