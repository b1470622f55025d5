// `helm lint --strict` and `helm template` with the real helm, every rendered object checked
// against the Kubernetes schemas.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartSource, find, helm, ofKind, render, valuesArgs, type KubeObject, type RenderableChart, type RenderOptions, renderableChart } from './support/helm.ts';
import { validateObject } from './support/validate.ts';
import { profiles } from './profiles.ts';

let chart: RenderableChart;
beforeAll(() => {
  chart = renderableChart();
});
afterAll(() => chart.dispose());

describe('helm lint --strict', () => {
  it.each(Object.entries(profiles))('passes for the %s profile', (_name, options) => {
    const result = helm(['lint', '--strict', chart.dir, ...valuesArgs(options)]);
    expect(result.stderr + result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});

describe('every rendered object is valid Kubernetes', () => {
  it.each(Object.entries(profiles))('%s profile', async (_name, options) => {
    const objects = render(chart.dir, options);
    expect(objects.length).toBeGreaterThan(8);
    for (const object of objects) await validateObject(object);
    const names = objects.map((object) => `${object.kind}/${object.metadata.name}`);
    expect(new Set(names).size, 'no two objects share kind and name').toBe(names.length);
  });

  it('the validator itself rejects a misspelled field and a wrong type', async () => {
    const [deployment] = ofKind(render(chart.dir), 'Deployment') as [KubeObject];
    const misspelled = structuredClone(deployment) as any;
    misspelled.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    await expect(validateObject(misspelled)).rejects.toThrow(/readOnlyRootFileSystem/);
    const wrongType = structuredClone(deployment) as any;
    wrongType.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    await expect(validateObject(wrongType)).rejects.toThrow(/containerPort/);
  });
});

describe('what each profile renders', () => {
  const kinds = (objects: KubeObject[]) => objects.map((object) => `${object.kind}/${object.metadata.name}`).sort();

  it('default: two Deployments, Services, ConfigMaps and ServiceAccounts, and the helm test pod; no optional extras', () => {
    const objects = render(chart.dir, { release: 'users' });
    const ours = objects.filter((object) => !object.metadata.labels?.['app.kubernetes.io/name']?.match(/^(postgresql|redis)$/));
    expect(kinds(ours)).toEqual(
      [
        'ConfigMap/users-data-service',
        'ConfigMap/users-user-service',
        'Deployment/users-data-service',
        'Deployment/users-user-service',
        'Pod/users-test-user-flow',
        'Secret/users-auth',
        'Service/users-data-service',
        'Service/users-user-service',
        'ServiceAccount/users-data-service',
        'ServiceAccount/users-user-service',
      ].sort(),
    );
    for (const deployment of ofKind(objects, 'Deployment')) expect((deployment.spec as any).replicas).toBe(1);
    if (chart.withSubcharts) {
      expect(objects.some((object) => object.kind === 'StatefulSet' && object.metadata.name === 'users-postgresql')).toBe(true);
      expect(objects.some((object) => object.kind === 'StatefulSet' && object.metadata.name === 'users-redis-master')).toBe(true);
    }
  });

  it('production: 2+ replicas through HPAs, PDBs, and NetworkPolicies that admit only the two services to PostgreSQL and Redis', () => {
    const objects = render(chart.dir, { release: 'users', ...profiles.production });
    for (const service of ['user-service', 'data-service']) {
      const hpa = find(objects, 'HorizontalPodAutoscaler', `users-${service}`).spec as any;
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: `users-${service}` });
      // The HPA owns the replica count; a fixed one would fight it on every upgrade.
      expect((find(objects, 'Deployment', `users-${service}`).spec as any).replicas).toBeUndefined();
      const pdb = find(objects, 'PodDisruptionBudget', `users-${service}`).spec as any;
      expect(pdb.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': service, 'app.kubernetes.io/instance': 'users' });
    }
    const onlyOurServices = {
      matchLabels: { 'app.kubernetes.io/instance': 'users' },
      matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['user-service', 'data-service'] }],
    };
    // Ports by the names the subcharts give their containers' ports, so a changed port needs no second value.
    for (const [target, port] of [['postgresql', 'tcp-postgresql'], ['redis', 'redis']] as const) {
      const policy = find(objects, 'NetworkPolicy', `users-${target}-ingress`).spec as any;
      expect(policy.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/instance': 'users', 'app.kubernetes.io/name': target });
      expect(policy.policyTypes).toEqual(['Ingress']);
      expect(policy.ingress).toEqual([{ from: [{ podSelector: onlyOurServices }], ports: [{ port, protocol: 'TCP' }] }]);
    }
    expect(ofKind(objects, 'NetworkPolicy').map((policy) => policy.metadata.name).sort()).toEqual(
      ['users-postgresql-ingress', 'users-redis-ingress', 'users-services'].sort(),
    );
  });

  it('our pods carry the client labels that Bitnami\'s own policies (allowExternal=false) admit, and podLabels', () => {
    const objects = render(chart.dir, { set: { 'userService.podLabels.team': 'accounts', 'postgresql.architecture': 'replication' } });
    const labels = (name: string) => (find(objects, 'Deployment', name).spec as any).template.metadata.labels;
    expect(labels('users-user-service')).toMatchObject({ 'users-postgresql-primary-client': 'true', 'users-redis-client': 'true', team: 'accounts' });
    expect(labels('users-data-service')).toMatchObject({ 'users-postgresql-primary-client': 'true', 'users-redis-client': 'true' });
    expect(labels('users-data-service').team).toBeUndefined();
  });

  it("one value turns the NetworkPolicies on; Bitnami's allow-all policies, which would void them, are refused with the fix", () => {
    expect(ofKind(render(chart.dir, { set: { 'networkPolicy.enabled': true } }), 'NetworkPolicy')).toHaveLength(3);
    expect(() => render(chart.dir, { set: { 'networkPolicy.enabled': true, 'postgresql.primary.networkPolicy.enabled': true } })).toThrow(
      /postgresql\.primary\.networkPolicy\.allowExternal is true; set it to false/,
    );
    expect(() => render(chart.dir, { set: { 'networkPolicy.enabled': true, 'redis.networkPolicy.enabled': true } })).toThrow(
      /redis\.networkPolicy\.allowExternal is true; set it to false/,
    );
    const strict = { 'networkPolicy.enabled': true, 'redis.networkPolicy.enabled': true, 'redis.networkPolicy.allowExternal': false };
    expect(ofKind(render(chart.dir, { set: strict }), 'NetworkPolicy').some((policy) => policy.metadata.name === 'users-redis-ingress')).toBe(true);
  });

  it('external: no subchart objects, and the NetworkPolicy has no database or cache pods to select', () => {
    const objects = render(chart.dir, {
      ...profiles.external,
      set: { ...profiles.external.set, 'networkPolicy.enabled': true },
    });
    expect(ofKind(objects, 'StatefulSet')).toEqual([]);
    expect(ofKind(objects, 'Secret').map((secret) => secret.metadata.name)).toEqual(['users-auth']);
    expect(ofKind(objects, 'NetworkPolicy').map((policy) => policy.metadata.name)).toEqual(['users-services']);
  });

  it('optional extras: ServiceMonitor scrapes /metrics on the metrics port, Ingress routes one host per service, the dashboard is labelled for the Grafana sidecar', () => {
    const objects = render(chart.dir, { release: 'users', ...profiles.everythingOn });
    const monitor = find(objects, 'ServiceMonitor', 'users').spec as any;
    expect(monitor.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }]);
    const service = find(objects, 'Service', 'users-data-service');
    for (const [key, value] of Object.entries(monitor.selector.matchLabels)) expect(service.metadata.labels?.[key]).toBe(value);
    const rules = (find(objects, 'Ingress', 'users').spec as any).rules;
    expect(rules.map((rule: any) => [rule.host, rule.http.paths[0].backend.service.name])).toEqual([
      ['users-read.example.com', 'users-data-service'],
      ['users-write.example.com', 'users-user-service'],
    ]);
    const dashboard = find(objects, 'ConfigMap', 'users-dashboard');
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
    const json = JSON.parse((dashboard.data as Record<string, string>)['users-services.json']!);
    expect(json.panels.map((panel: any) => panel.title)).toEqual(
      expect.arrayContaining(['Request rate', 'Latency p50 / p99', 'Errors (5xx share of requests)', 'Share of reads by tier']),
    );
  });

  it('the helm test pod registers through user-service and reads through data-service, by their Service names', () => {
    const objects = render(chart.dir, { release: 'users' });
    const pod = find(objects, 'Pod', 'users-test-user-flow');
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const container = (pod.spec as any).containers[0];
    expect(container.env).toEqual([
      { name: 'USER_SERVICE_URL', value: 'http://users-user-service:80' },
      { name: 'DATA_SERVICE_URL', value: 'http://users-data-service:80' },
      // It signs its own short-lived token with the release's key (see _test-script.tpl).
      { name: 'JWT_SECRET', valueFrom: { secretKeyRef: { name: 'users-auth', key: 'jwt-secret' } } },
    ]);
    expect(container.command.at(-1)).toMatch(/'\/register'[\s\S]*\/user\//);
  });
});

describe('NOTES.txt', () => {
  const notes = (options: RenderOptions): string => {
    const result = helm(['install', options.release ?? 'users', chart.dir, '--dry-run=client', '--namespace', options.namespace ?? 'users', ...valuesArgs(options)]);
    expect(result.status, result.stderr).toBe(0);
    return result.stdout.slice(result.stdout.indexOf('NOTES:'));
  };

  it('gives the exact port-forward and curl lines for this release and namespace', () => {
    const text = notes({ release: 'shop', namespace: 'staging' });
    expect(text).toContain('kubectl --namespace staging port-forward service/shop-user-service 5000:80');
    expect(text).toContain('kubectl --namespace staging port-forward service/shop-data-service 5001:80');
    expect(text).toContain(
      'TOKEN=$(kubectl --namespace staging exec deployment/shop-user-service -c user-service -- node dist/services/user/src/token-cli.js --scope users:write --ttl 1h)',
    );
    expect(text).toContain(`curl -i -X POST http://127.0.0.1:5000/register -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"name":"ada","info":"first programmer"}'`);
    expect(text).toContain('curl -i http://127.0.0.1:5001/user/ada');
    expect(text).toContain('helm test shop --namespace staging');
  });

  it('warns about image tags that are gone or move, and not about the defaults', () => {
    expect(notes({})).not.toMatch(/Warning/);
    const text = notes({ set: { 'postgresql.image.repository': 'bitnami/postgresql', 'redis.image.tag': 'latest', 'userService.image.tag': 'latest' } });
    expect(text).toMatch(/postgresql\.image is docker\.io\/bitnami\/postgresql:17\.6\.0-debian-12-r4, a versioned docker\.io\/bitnami tag/);
    expect(text).toMatch(/redis\.image \(docker\.io\/bitnamilegacy\/redis:latest\) has no fixed tag/);
    expect(text).toMatch(/userService\.image\.tag is "latest"/);
    // A digest pins any tag; a mirror is not docker.io/bitnami.
    const pinned = notes({
      set: { 'redis.image.tag': 'latest', 'redis.image.digest': `sha256:${'0'.repeat(64)}`, 'postgresql.image.repository': 'bitnami/postgresql', 'global.imageRegistry': 'registry.example.com' },
    });
    expect(pinned).not.toMatch(/Warning/);
  });
});

describe('Chart.lock', () => {
  // helm checks the lock's digest (over Chart.yaml's dependencies and the locked ones) before it
  // fetches anything; the fetch itself needs the registry, which may be unreachable here.
  const build = (tamper: boolean): string => {
    const dir = mkdtempSync(join(tmpdir(), 'users-lock-'));
    try {
      cpSync(chartSource, dir, { recursive: true, filter: (path) => !path.startsWith(join(chartSource, 'charts')) });
      if (tamper) writeFileSync(join(dir, 'Chart.lock'), readFileSync(join(dir, 'Chart.lock'), 'utf8').replace(/sha256:[0-9a-f]/, 'sha256:x'));
      const result = helm(['dependency', 'build', dir, '--skip-refresh']);
      return result.stdout + result.stderr;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('matches Chart.yaml (helm dependency build does not call it out of sync), and pins the exact versions', () => {
    expect(build(false)).not.toMatch(/out of sync/);
    expect(build(true)).toMatch(/out of sync/);
    const lock = readFileSync(join(chartSource, 'Chart.lock'), 'utf8');
    expect(lock).toMatch(/name: postgresql\n\s+repository: \S+\n\s+version: 17\.1\.0/);
    expect(lock).toMatch(/name: redis\n\s+repository: \S+\n\s+version: 23\.1\.1/);
  });
});
