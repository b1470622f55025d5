// `helm lint --strict` and `helm template` with the real helm, every rendered object checked
// against the Kubernetes schemas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, helm, ofKind, render, valuesArgs, type KubeObject, type RenderableChart, type RenderOptions, renderableChart } from './support/helm.ts';
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
    for (const [target, port] of [['postgresql', 5432], ['redis', 6379]] as const) {
      const policy = find(objects, 'NetworkPolicy', `users-${target}`).spec as any;
      expect(policy.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/instance': 'users', 'app.kubernetes.io/name': target });
      expect(policy.policyTypes).toEqual(['Ingress']);
      expect(policy.ingress).toEqual([{ from: [{ podSelector: onlyOurServices }], ports: [{ port, protocol: 'TCP' }] }]);
    }
    expect(ofKind(objects, 'NetworkPolicy').map((policy) => policy.metadata.name).sort()).toEqual(
      ['users-postgresql', 'users-redis', 'users-services'].sort(),
    );
  });

  it('the NetworkPolicies admit the database pods\' container ports, not their Service ports', () => {
    const objects = render(chart.dir, {
      ...profiles.production,
      set: {
        'postgresql.primary.service.ports.postgresql': 15432,
        'postgresql.primary.containerPorts.postgresql': 5433,
        'redis.master.service.ports.redis': 16379,
      },
    });
    const ports = (name: string) => (find(objects, 'NetworkPolicy', name).spec as any).ingress[0].ports;
    expect(ports('users-postgresql')).toEqual([{ port: 5433, protocol: 'TCP' }]);
    expect(ports('users-redis')).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  it("turning on our NetworkPolicy while Bitnami's allow-all policy is still on fails with the fix in the message", () => {
    expect(() => render(chart.dir, { set: { 'networkPolicy.enabled': true } })).toThrow(/postgresql\.primary\.networkPolicy\.enabled=false/);
    expect(() => render(chart.dir, { set: { 'networkPolicy.enabled': true, 'postgresql.primary.networkPolicy.enabled': false } })).toThrow(
      /redis\.networkPolicy\.enabled=false/,
    );
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
      expect.arrayContaining(['Request rate', 'Latency p50 / p99', 'Errors (5xx share of requests)', 'Cache hit ratio by tier']),
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

  it('warns about unpinned database images until they are pinned', () => {
    expect(notes({})).toMatch(/postgresql\.image is not pinned[\s\S]*redis\.image is not pinned/);
    const pinned = notes({ set: { 'postgresql.image.digest': 'sha256:0123', 'redis.image.tag': '8.2.1-debian-12-r0' } });
    expect(pinned).not.toMatch(/is not pinned/);
  });
});
