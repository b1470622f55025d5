// A stand-in for the Kubernetes API server (none runs on this machine) that answers what real helm
// asks during `helm template --dry-run=server`: version, discovery of the kinds the chart renders,
// and GETs of objects, which answer from `objects` (404 otherwise). That is enough for the chart's
// `lookup` calls to see a Secret as an installed release left it, so an upgrade can be rendered by
// helm itself. It records every request.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from './helm.ts';

const GROUPS: Record<string, [version: string, kinds: string[]]> = {
  '': ['v1', ['Secret', 'ConfigMap', 'Service', 'ServiceAccount', 'Pod', 'PersistentVolumeClaim']],
  apps: ['v1', ['Deployment', 'StatefulSet']],
  policy: ['v1', ['PodDisruptionBudget']],
  'networking.k8s.io': ['v1', ['NetworkPolicy', 'Ingress']],
  autoscaling: ['v2', ['HorizontalPodAutoscaler']],
  'monitoring.coreos.com': ['v1', ['ServiceMonitor']],
};

const plural = (kind: string) => {
  const lower = kind.toLowerCase();
  return lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : lower.endsWith('s') ? `${lower}es` : `${lower}s`;
};

export interface LookupApi {
  /** A kubeconfig file whose current context is this server. */
  kubeconfig: string;
  requests: string[];
  close(): Promise<void>;
}

export async function startLookupApi(objects: KubeObject[]): Promise<LookupApi> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://stand-in').pathname;
    requests.push(`${request.method} ${path}`);
    const send = (code: number, body: unknown) => response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const resources = (groupVersion: string, kinds: string[]) => ({
      kind: 'APIResourceList',
      groupVersion,
      resources: kinds.map((kind) => ({ name: plural(kind), singularName: kind.toLowerCase(), namespaced: true, kind, verbs: ['get', 'list', 'create'] })),
    });
    if (path === '/version') return send(200, { major: '1', minor: '34', gitVersion: 'v1.34.0' });
    if (path === '/api') return send(200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    if (path === '/api/v1') return send(200, resources('v1', GROUPS['']![1]));
    const named = Object.entries(GROUPS).filter(([group]) => group);
    if (path === '/apis') {
      return send(200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: named.map(([group, [version]]) => {
          const gv = { groupVersion: `${group}/${version}`, version };
          return { name: group, versions: [gv], preferredVersion: gv };
        }),
      });
    }
    for (const [group, [version, kinds]] of named) if (path === `/apis/${group}/${version}`) return send(200, resources(`${group}/${version}`, kinds));
    const object = /^\/apis?\/(?:[^/]+\/)?[^/]+\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    const found = object && objects.find((o) => plural(o.kind) === object[2] && o.metadata.name === object[3] && (o.metadata.namespace ?? object[1]) === object[1]);
    if (request.method === 'GET' && found) return send(200, found);
    return send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'lookup-api-')), 'config');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: stand-in, cluster: {server: "${url}"}}]`,
      'users: [{name: helm, user: {token: not-a-secret}}]',
      'contexts: [{name: stand-in, context: {cluster: stand-in, user: helm}}]',
      'current-context: stand-in',
    ].join('\n'),
  );
  return {
    kubeconfig,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
