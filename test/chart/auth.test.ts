// The chart's side of authentication and of the metrics port, rendered by the real helm: the
// signing-key Secret (random, kept across `helm upgrade` through `lookup`, which helm performs here
// against a stand-in API server), existingSecret and JWKS modes, secretKeyRef only, and the
// metrics port wired through Service, ServiceMonitor, Ingress and NetworkPolicy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../services/shared/src/config/index.ts';
import { userEnv } from '../../services/user/src/config.ts';
import { dataEnv } from '../../services/data/src/config.ts';
import { find, helm, helmAsync, ofKind, parseManifests, render, templateArgs, type KubeObject, type RenderableChart, type RenderOptions, renderableChart } from './support/helm.ts';
import { clusterState, containerEnv, type Container } from './support/kubelet-env.ts';
import { startLookupApi } from './support/lookup-api.ts';
import { profiles } from './profiles.ts';

let chart: RenderableChart;
beforeAll(() => {
  chart = renderableChart();
});
afterAll(() => chart.dispose());

const mainContainer = (objects: KubeObject[], service: string): Container => (find(objects, 'Deployment', `users-${service}`).spec as any).template.spec.containers[0];
const initContainers = (objects: KubeObject[], service: string): Container[] => (find(objects, 'Deployment', `users-${service}`).spec as any).template.spec.initContainers ?? [];
const envNamed = (container: Container, name: string) => container.env?.find((variable) => variable.name === name);
const signingKey = (objects: KubeObject[]) => Buffer.from((find(objects, 'Secret', 'users-auth').data as Record<string, string>)['jwt-secret']!, 'base64').toString();

describe('the signing key, by default', () => {
  it('is a random 48-character key in <release>-auth, different for each install', () => {
    const first = render(chart.dir, { release: 'users' });
    const second = render(chart.dir, { release: 'users' });
    expect(signingKey(first)).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(signingKey(second)).not.toBe(signingKey(first));
  });

  it('reaches user-service only by secretKeyRef; data-service (public reads) and the migrate step get no key', () => {
    const objects = render(chart.dir, { release: 'users' });
    expect(envNamed(mainContainer(objects, 'user-service'), 'JWT_SECRET')).toEqual({
      name: 'JWT_SECRET',
      valueFrom: { secretKeyRef: { name: 'users-auth', key: 'jwt-secret' } },
    });
    expect(envNamed(mainContainer(objects, 'data-service'), 'JWT_SECRET')).toBeUndefined();
    for (const init of [...initContainers(objects, 'user-service'), ...initContainers(objects, 'data-service')]) expect(envNamed(init, 'JWT_SECRET')).toBeUndefined();
    for (const configMap of ofKind(objects, 'ConfigMap')) expect(JSON.stringify(configMap.data)).not.toContain(signingKey(objects));
  });

  it('is kept by `helm upgrade`: helm looks up the Secret the install created and renders the same key', async () => {
    const installed = render(chart.dir, { release: 'users', namespace: 'users' });
    const secret = find(installed, 'Secret', 'users-auth');
    // What the cluster holds after `helm install`: the Secret as rendered, owned by the release.
    const inCluster: KubeObject = {
      ...secret,
      metadata: {
        ...secret.metadata,
        namespace: 'users',
        labels: { ...secret.metadata.labels, 'app.kubernetes.io/managed-by': 'Helm' },
        annotations: { 'meta.helm.sh/release-name': 'users', 'meta.helm.sh/release-namespace': 'users' },
      },
    };
    const api = await startLookupApi([inCluster]);
    try {
      const upgrade = await helmAsync([...templateArgs(chart.dir, { release: 'users', namespace: 'users' }), '--dry-run=server', '--disable-openapi-validation'], {
        KUBECONFIG: api.kubeconfig,
      });
      expect(upgrade.status, upgrade.stderr).toBe(0);
      expect(api.requests).toContain('GET /api/v1/namespaces/users/secrets/users-auth');
      expect(signingKey(parseManifests(upgrade.stdout))).toBe(signingKey(installed));
    } finally {
      await api.close();
    }
  });

  it('a key that a release created before is reused even when the values change', async () => {
    const api = await startLookupApi([
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'users-auth',
          namespace: 'users',
          labels: { 'app.kubernetes.io/managed-by': 'Helm' },
          annotations: { 'meta.helm.sh/release-name': 'users', 'meta.helm.sh/release-namespace': 'users' },
        },
        data: { 'jwt-secret': Buffer.from('k'.repeat(48)).toString('base64') },
      },
    ]);
    try {
      const upgrade = await helmAsync([...templateArgs(chart.dir, { release: 'users', namespace: 'users', set: { 'auth.readsRequireToken': true } }), '--dry-run=server', '--disable-openapi-validation'], {
        KUBECONFIG: api.kubeconfig,
      });
      expect(upgrade.status, upgrade.stderr).toBe(0);
      expect(signingKey(parseManifests(upgrade.stdout))).toBe('k'.repeat(48));
    } finally {
      await api.close();
    }
  });
});

describe('other ways to provide the key', () => {
  it('auth.existingSecret: no Secret of the chart; both pods read the operator\'s key by secretKeyRef when reads need a token', () => {
    const objects = render(chart.dir, { release: 'users', set: { 'auth.existingSecret': 'my-signing-key', 'auth.existingSecretKey': 'hs256', 'auth.readsRequireToken': true } });
    expect(ofKind(objects, 'Secret').filter((secret) => secret.metadata.name === 'users-auth')).toEqual([]);
    for (const service of ['user-service', 'data-service']) {
      expect(envNamed(mainContainer(objects, service), 'JWT_SECRET')?.valueFrom).toEqual({ secretKeyRef: { name: 'my-signing-key', key: 'hs256' } });
    }
    expect(envNamed(mainContainer(objects, 'data-service'), 'AUTH_READS')).toEqual({ name: 'AUTH_READS', value: 'token' });
  });

  it('auth.jwksUrl: no key at all, JWKS_URL, JWT_ISSUER and JWT_AUDIENCE set, and the services accept that environment', () => {
    const set = { 'auth.jwksUrl': 'https://idp.example.com/.well-known/jwks.json', 'auth.issuer': 'https://idp.example.com/', 'auth.audience': 'users-api', 'auth.readsRequireToken': true };
    const objects = render(chart.dir, { ...profiles.external, set: { ...profiles.external.set, ...set } });
    expect(ofKind(objects, 'Secret')).toEqual([]);
    const cluster = clusterState(objects, { name: 'pod', namespace: 'users' }, { 'users-db-credentials': { 'db-password': 'x' }, 'users-cache-credentials': { 'cache-password': 'y' } });
    const userEnvironment = containerEnv(mainContainer(objects, 'user-service'), cluster);
    expect(userEnvironment).toMatchObject({ JWKS_URL: set['auth.jwksUrl'], JWT_ISSUER: set['auth.issuer'], JWT_AUDIENCE: 'users-api' });
    expect(userEnvironment.JWT_SECRET).toBeUndefined();
    // The services' own configuration parser takes what the kubelet would give them.
    expect(parseEnv(userEnv, userEnvironment).JWKS_URL).toBe(set['auth.jwksUrl']);
    expect(parseEnv(dataEnv, containerEnv(mainContainer(objects, 'data-service'), cluster)).AUTH_READS).toBe('token');
  });

  it('the schema refuses a JWKS URL that is not https', () => {
    const result = helm(templateArgs(chart.dir, { set: { 'auth.jwksUrl': 'http://idp.example.com/jwks' } }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/jwksUrl/);
  });

  it('auth.enabled=false: AUTH=disabled in both services, no Secret, and the notes say so', () => {
    const objects = render(chart.dir, { release: 'users', set: { 'auth.enabled': false } });
    expect(ofKind(objects, 'Secret').filter((secret) => secret.metadata.name === 'users-auth')).toEqual([]);
    for (const service of ['user-service', 'data-service']) expect(envNamed(mainContainer(objects, service), 'AUTH')).toEqual({ name: 'AUTH', value: 'disabled' });
    const notes = helm(['install', 'users', chart.dir, '--dry-run=client', '--set', 'auth.enabled=false']);
    expect(notes.stdout).toContain('Authentication is OFF');
  });
});

describe('the metrics port', () => {
  const options: RenderOptions = { release: 'users', ...profiles.everythingOn };

  it('the Ingress routes only the API port of each service', () => {
    const ingress = find(render(chart.dir, options), 'Ingress', 'users').spec as any;
    const backends = ingress.rules.flatMap((rule: any) => rule.http.paths.map((path: any) => path.backend.service.port));
    expect(backends).toEqual([{ name: 'http' }, { name: 'http' }]);
  });

  it('the NetworkPolicy admits the metrics port only from the monitoring namespace, whatever allowFrom says', () => {
    const policy = find(render(chart.dir, { ...options, set: { ...options.set, 'networkPolicy.allowFrom[0].podSelector.matchLabels.role': 'frontend' } }), 'NetworkPolicy', 'users-services').spec as any;
    expect(policy.ingress).toEqual([
      { ports: [{ port: 'http', protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { role: 'frontend' } } }] },
      { ports: [{ port: 'metrics', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
    ]);
  });

  it('an empty networkPolicy.metricsFrom is refused (an empty `from` would admit everyone)', () => {
    const result = helm(templateArgs(chart.dir, { ...options, set: { ...options.set, 'networkPolicy.metricsFrom': null as unknown as string } }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/networkPolicy\.metricsFrom/);
  });

  it('the Service, the container and METRICS_PORT agree, and the ServiceMonitor scrapes that port by name', () => {
    const objects = render(chart.dir, { ...options, set: { ...options.set, 'metrics.port': 9100 } });
    for (const service of ['user-service', 'data-service']) {
      const container = mainContainer(objects, service);
      expect(container.ports?.find((port) => port.name === 'metrics')?.containerPort).toBe(9100);
      expect(envNamed(container, 'METRICS_PORT')).toEqual({ name: 'METRICS_PORT', value: '9100' });
      expect((find(objects, 'Service', `users-${service}`).spec as any).ports.find((port: any) => port.name === 'metrics')).toEqual({ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' });
    }
    expect((find(objects, 'ServiceMonitor', 'users').spec as any).endpoints.map((endpoint: any) => endpoint.port)).toEqual(['metrics']);
  });
});
