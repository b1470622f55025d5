// How the pods run: hardened by default, probed, rolled on config changes, drained on shutdown,
// and migrated before user-service starts, in a way that also works on a first install.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, ofKind, render, type KubeObject, type RenderableChart, renderableChart } from './support/helm.ts';
import { resolvePort, type Container } from './support/kubelet-env.ts';
import { profiles } from './profiles.ts';

let chart: RenderableChart;
let objects: KubeObject[];
beforeAll(() => {
  chart = renderableChart();
  objects = render(chart.dir, { release: 'users' });
});
afterAll(() => chart.dispose());

const podSpec = (object: KubeObject): any => (object.kind === 'Pod' ? object.spec : (object.spec as any).template.spec);
const deployment = (service: string) => find(objects, 'Deployment', `users-${service}`);
const checksum = (rendered: KubeObject[], service: string) =>
  (find(rendered, 'Deployment', `users-${service}`).spec as any).template.metadata.annotations['checksum/config'] as string;

describe('hardened by default', () => {
  const workloads = () => [...ofKind(objects, 'Deployment'), find(objects, 'Pod', 'users-test-user-flow')];

  it('every pod runs as a fixed non-root uid/gid with seccomp RuntimeDefault and no API token', () => {
    for (const workload of workloads()) {
      const spec = podSpec(workload);
      expect(spec.securityContext, workload.metadata.name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(spec.automountServiceAccountToken).toBe(false);
    }
    for (const account of ofKind(objects, 'ServiceAccount')) expect(account.automountServiceAccountToken).toBe(false);
  });

  it('every container, init containers included: read-only root, no escalation, no capabilities, requests and limits', () => {
    const containers = workloads().flatMap((workload) => [...(podSpec(workload).initContainers ?? []), ...podSpec(workload).containers]) as Container[];
    expect(containers.length).toBe(6);
    for (const container of containers) {
      expect(container.securityContext, container.name).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(container.securityContext?.capabilities).not.toHaveProperty('add');
      for (const bound of ['requests', 'limits'] as const) {
        expect(Object.keys(container.resources?.[bound] ?? {}).sort(), `${container.name} ${bound}`).toEqual(['cpu', 'memory']);
      }
    }
  });

  it('the only writable path is a size-limited /tmp', () => {
    for (const service of ['user-service', 'data-service']) {
      const spec = podSpec(deployment(service));
      expect(spec.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
      expect(spec.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    }
  });
});

describe('ports and probes', () => {
  it.each(['user-service', 'data-service'])('%s listens on 8080 (PORT) and 9464 (METRICS_PORT), liveness /health, readiness /health/ready, startup /health', (service) => {
    const container = podSpec(deployment(service)).containers[0] as Container;
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9464, protocol: 'TCP' },
    ]);
    expect(container.env?.find((variable) => variable.name === 'PORT')).toEqual({ name: 'PORT', value: '8080' });
    expect(container.env?.find((variable) => variable.name === 'METRICS_PORT')).toEqual({ name: 'METRICS_PORT', value: '9464' });
    const probes = { startup: container.startupProbe!, liveness: container.livenessProbe!, readiness: container.readinessProbe! };
    expect(probes.liveness.httpGet?.path).toBe('/health');
    expect(probes.readiness.httpGet?.path).toBe('/health/ready');
    expect(probes.startup.httpGet?.path).toBe('/health');
    for (const probe of Object.values(probes)) expect(resolvePort(container, probe.httpGet!.port)).toBe(8080);
    // Startup allows a slow first boot without a long liveness delay; liveness tolerates a blip.
    expect(probes.startup.periodSeconds! * probes.startup.failureThreshold!).toBeGreaterThanOrEqual(30);
    expect(probes.liveness.failureThreshold! * probes.liveness.periodSeconds!).toBeGreaterThanOrEqual(20);
    expect(probes.readiness.periodSeconds).toBeLessThanOrEqual(5);
    for (const probe of Object.values(probes)) expect(probe.timeoutSeconds).toBeLessThan(probe.periodSeconds!);
  });

  it('the Services route port 80 to the named container port, and name the metrics port', () => {
    for (const service of ['user-service', 'data-service']) {
      const spec = find(objects, 'Service', `users-${service}`).spec as any;
      expect(spec.ports).toEqual([
        { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
        { name: 'metrics', port: 9464, targetPort: 'metrics', protocol: 'TCP' },
      ]);
      expect(spec.selector).toEqual((deployment(service).spec as any).selector.matchLabels);
    }
  });
});

describe('graceful shutdown', () => {
  it('pods wait a few seconds for endpoints to drop them, and the grace period covers delay plus drain', () => {
    for (const service of ['user-service', 'data-service']) {
      const config = find(objects, 'ConfigMap', `users-${service}`).data as Record<string, string>;
      const delay = Number(config.SHUTDOWN_DELAY_MS);
      const timeout = Number(config.SHUTDOWN_TIMEOUT_MS);
      expect(delay).toBeGreaterThanOrEqual(2_000);
      expect(delay).toBeLessThanOrEqual(10_000);
      expect(podSpec(deployment(service)).terminationGracePeriodSeconds * 1000).toBeGreaterThan(delay + timeout);
    }
  });

  it('rollouts never drop below the desired count', () => {
    expect((deployment('data-service').spec as any).strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });
});

describe('checksum annotations roll exactly the pods whose configuration changed', () => {
  it('a shared setting rolls both services', () => {
    const changed = render(chart.dir, { release: 'users', set: { 'config.logLevel': 'debug' } });
    for (const service of ['user-service', 'data-service']) expect(checksum(changed, service)).not.toBe(checksum(objects, service));
  });

  it('a data-service cache setting rolls data-service only', () => {
    const changed = render(chart.dir, { release: 'users', set: { 'dataService.cache.ttlSeconds': 60 } });
    expect(checksum(changed, 'data-service')).not.toBe(checksum(objects, 'data-service'));
    expect(checksum(changed, 'user-service')).toBe(checksum(objects, 'user-service'));
  });

  it('a new database host rolls both; a new image tag leaves the checksum alone (the image change rolls by itself)', () => {
    const moved = render(chart.dir, {
      release: 'users',
      set: { 'postgresql.enabled': false, 'externalDatabase.host': 'db.example' },
    });
    for (const service of ['user-service', 'data-service']) expect(checksum(moved, service)).not.toBe(checksum(objects, service));
    const retagged = render(chart.dir, { release: 'users', set: { 'userService.image.tag': '1.2.3' } });
    expect(checksum(retagged, 'user-service')).toBe(checksum(objects, 'user-service'));
  });

  it('the annotation is a sha256 of the ConfigMap data', () => {
    expect(checksum(objects, 'user-service')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('migrations: once per rollout, before user-service serves, also on a first install', () => {
  it('no pre-install or pre-upgrade hook exists (it would run before the subchart PostgreSQL exists)', () => {
    const hooks = objects.filter((object) => object.metadata.annotations?.['helm.sh/hook']);
    expect(hooks.map((object) => [object.kind, object.metadata.annotations!['helm.sh/hook']])).toEqual([['Pod', 'test']]);
    expect(ofKind(objects, 'Job')).toEqual([]);
  });

  it('user-service waits for PostgreSQL, then migrates with its own image and environment, then starts with MIGRATE_ON_START=false', () => {
    const spec = podSpec(deployment('user-service'));
    const [wait, migrate] = spec.initContainers as Container[];
    const main = spec.containers[0] as Container;
    expect(spec.initContainers.map((container: Container) => container.name)).toEqual(['wait-for-postgresql', 'migrate']);
    expect(wait!.command?.slice(0, 2)).toEqual(['node', '-e']);
    expect(wait!.command?.[2]).toMatch(/PGHOST[\s\S]*PGPORT/);
    expect(migrate!.command).toEqual(['node', 'dist/services/user/src/migrate-cli.js']);
    for (const init of [wait!, migrate!]) expect(init.image).toBe(main.image);
    expect(migrate!.envFrom).toEqual(main.envFrom);
    // The database and cache passwords, not the listening ports nor the token key (migrations verify no token).
    expect(migrate!.env).toEqual(main.env?.filter((variable) => !['PORT', 'METRICS_PORT', 'JWT_SECRET'].includes(variable.name)));
    expect((find(objects, 'ConfigMap', 'users-user-service').data as Record<string, string>).MIGRATE_ON_START).toBe('false');
  });

  it('data-service waits for PostgreSQL but never migrates', () => {
    const spec = podSpec(deployment('data-service'));
    expect(spec.initContainers.map((container: Container) => container.name)).toEqual(['wait-for-postgresql']);
  });

  it('seedDemoUsers adds the demo rows through the same migrate step', () => {
    const seeded = render(chart.dir, { release: 'users', ...profiles.everythingOn });
    const migrate = podSpec(find(seeded, 'Deployment', 'users-user-service')).initContainers[1] as Container;
    expect(migrate.command).toEqual(['node', 'dist/services/user/src/migrate-cli.js', '--seed']);
    expect((find(seeded, 'ConfigMap', 'users-user-service').data as Record<string, string>).SEED_DEMO_USERS).toBe('true');
  });
});

describe('images', () => {
  it('default to the chart appVersion, and each tag can be pinned independently', () => {
    const images = (rendered: KubeObject[]) => ['user-service', 'data-service'].map((service) => podSpec(find(rendered, 'Deployment', `users-${service}`)).containers[0].image);
    expect(images(objects)).toEqual(['user-service:0.1.0', 'data-service:0.1.0']);
    const pinned = render(chart.dir, {
      release: 'users',
      set: { 'userService.image.repository': 'registry.example/user-service', 'userService.image.tag': 'abc123', 'dataService.image.tag': 'def456' },
    });
    expect(images(pinned)).toEqual(['registry.example/user-service:abc123', 'data-service:def456']);
  });

  it('ConfigMap values are plain integers and strings the services parse (no 1.6e+07)', () => {
    for (const service of ['user-service', 'data-service']) {
      for (const [key, value] of Object.entries(find(objects, 'ConfigMap', `users-${service}`).data as Record<string, string>)) {
        expect(value, key).not.toMatch(/e\+|\.0$/);
      }
    }
  });
});
