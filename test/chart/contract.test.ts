// Contract between the chart and the services: render the external profile pointed at this
// machine's PostgreSQL and Redis, give each container the environment the kubelet would compute
// from the rendered Deployments, ConfigMaps and Secrets, run the init containers then the services
// (the real images when a docker command answers, node processes otherwise; no cluster here: the
// kubelet's part is modelled in support/kubelet-env.ts and support/local-containers.ts), probe the
// paths and ports the manifests declare, and run the user flow. Needs `npm run build` first for
// the node processes (`npm test` does it).
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUserFlow } from '../../e2e/flow.ts';
import { connect, createScratchBackends, type ScratchBackends } from '../../scripts/scratch-backends.ts';
import { signToken } from '../../services/shared/src/auth/index.ts';
import { find, ofKind, render, repoRoot, type KubeObject, type RenderableChart, renderableChart } from './support/helm.ts';
import { clusterState, containerEnv, resolvePort, type ClusterState, type Container } from './support/kubelet-env.ts';
import {
  buildImages,
  detectRuntime,
  freePort,
  probeOnce,
  runToCompletion,
  startContainer,
  tail,
  untilProbeSucceeds,
  useRuntime,
  type LocalContainer,
} from './support/local-containers.ts';

// This suite's port range; every "pod" shares this host, so each gets its own port for 8080.
const PORT_RANGE = [18100, 18199] as const;
const namespace = 'users';

// What an operator creates before installing with external servers. PostgreSQL here trusts local
// connections, so its password is checked by nobody; Redis here has no password, and an empty
// Secret value must count as unset.
const operatorSecrets = {
  'users-db-credentials': { password: 'not-checked-by-trust-auth' },
  'users-cache-credentials': { 'redis-password': '' },
};

const externalProfile = ({ database, keyPrefix }: ScratchBackends) => ({
  release: 'users',
  namespace,
  set: {
    'postgresql.enabled': false,
    'redis.enabled': false,
    'externalDatabase.host': '127.0.0.1',
    'externalDatabase.port': 5432,
    'externalDatabase.user': 'postgres',
    'externalDatabase.database': database,
    'externalDatabase.sslMode': 'disable',
    'externalDatabase.existingSecret': 'users-db-credentials',
    'externalDatabase.existingSecretPasswordKey': 'password',
    'externalRedis.host': '127.0.0.1',
    'externalRedis.port': 6379,
    'externalRedis.existingSecret': 'users-cache-credentials',
    'externalRedis.existingSecretPasswordKey': 'redis-password',
    'config.redisKeyPrefix': keyPrefix,
  },
});

// The real images when a docker command answers (named in the suite's title), else node processes.
const runtime = await detectRuntime();
useRuntime(runtime);

let scratch: ScratchBackends;
let chart: RenderableChart;
let objects: KubeObject[];
let cluster: ClusterState;
const running = new Map<string, LocalContainer>();
const takenPorts = new Set<number>();

const podSpec = (service: string): { initContainers?: Container[]; containers: Container[]; terminationGracePeriodSeconds: number } =>
  (find(objects, 'Deployment', `users-${service}`).spec as any).template.spec;

beforeAll(async () => {
  for (const entry of ['dist/services/user/src/main.js', 'dist/services/data/src/main.js', 'dist/services/user/src/migrate-cli.js']) {
    if (!existsSync(join(repoRoot, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  }
  scratch = await createScratchBackends('chart_contract');
  chart = renderableChart();
  objects = render(chart.dir, externalProfile(scratch));
  cluster = clusterState(objects, { name: 'users-pod', namespace }, operatorSecrets);
  if (runtime === 'docker') {
    const images = ['user-service', 'data-service'].flatMap((service) => {
      const spec = podSpec(service);
      return [...(spec.initContainers ?? []), ...spec.containers].map((container) => container.image);
    });
    const testPod = find(render(chart.dir, externalProfile(scratch)), 'Pod', 'users-test-user-flow');
    await buildImages([...images, ...(testPod.spec as any).containers.map((c: Container) => c.image)]);
  }
}, 900_000);

afterAll(async () => {
  await Promise.all([...running.values()].map((container) => container.remove()));
  chart?.dispose();
  await scratch?.dispose();
});

describe(`contract: the rendered external profile runs the real services (${runtime === 'docker' ? 'images' : 'node processes'})`, () => {
  it('the env the kubelet computes carries the ConfigMap, the operator Secrets and PORT', () => {
    const env = containerEnv(podSpec('user-service').containers[0]!, cluster);
    expect(env).toMatchObject({
      PORT: '8080',
      PGHOST: '127.0.0.1',
      PGPORT: '5432',
      PGUSER: 'postgres',
      PGDATABASE: scratch.database,
      PGPASSWORD: 'not-checked-by-trust-auth',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: '6379',
      REDIS_PASSWORD: '',
      REDIS_KEY_PREFIX: scratch.keyPrefix,
      MIGRATE_ON_START: 'false',
    });
    // The chart's own objects hold no password: it came from the operator's Secret. The one Secret
    // the chart makes is the token signing key, which reaches the pod by secretKeyRef.
    expect(ofKind(objects, 'Secret').map((secret) => [secret.metadata.name, Object.keys(secret.data as object)])).toEqual([['users-auth', ['jwt-secret']]]);
    expect(env.JWT_SECRET).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(env.METRICS_PORT).toBe('9464');
  });

  it('wait-for-postgresql keeps the pod in Init until PostgreSQL accepts connections (first install)', async () => {
    const wait = podSpec('user-service').initContainers!.find((init) => init.name === 'wait-for-postgresql')!;
    // PostgreSQL "not there yet": a port in our range where nothing listens.
    const port = await freePort(PORT_RANGE[0], PORT_RANGE[1], takenPorts);
    const waiting = startContainer(wait, { ...containerEnv(wait, cluster), PGPORT: String(port) });
    running.set('wait-for-postgresql', waiting);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(waiting.child.exitCode, tail(waiting)).toBeNull();
    // PostgreSQL comes up: the init container notices within its retry interval and succeeds.
    const server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await waiting.exited, tail(waiting)).toBe(0);
    } finally {
      server.close();
      running.delete('wait-for-postgresql');
    }
  });

  it('user-service init containers wait for PostgreSQL and apply the schema to the empty database', async () => {
    const fresh = connect(scratch.database);
    try {
      expect((await fresh`select count(*)::int as n from pg_catalog.pg_tables where schemaname = 'public'`)[0]!.n).toBe(0);
      for (const init of podSpec('user-service').initContainers!) {
        await runToCompletion(init, containerEnv(init, cluster), 60_000);
      }
      expect((await fresh`select count(*)::int as n from pg_catalog.pg_tables where schemaname = 'public'`)[0]!.n).toBeGreaterThan(0);
      // A second pod of the same rollout finds nothing left to apply and exits 0.
      const applied = () => fresh`select id, applied_at from schema_migrations order by id`;
      const first = await applied();
      expect(first.length).toBeGreaterThan(0);
      const migrate = podSpec('user-service').initContainers!.find((init) => init.name === 'migrate')!;
      await runToCompletion(migrate, containerEnv(migrate, cluster), 30_000);
      expect(await applied()).toEqual(first);
    } finally {
      await fresh.end();
    }
    for (const init of podSpec('data-service').initContainers ?? []) await runToCompletion(init, containerEnv(init, cluster), 60_000);
  });

  it('both services pass the startup, liveness and readiness probes the manifests declare', async () => {
    for (const service of ['user-service', 'data-service']) {
      const spec = podSpec(service).containers[0]!;
      // Every declared port (http, metrics) gets its own host port: all "pods" share this host.
      const portMap = new Map<number, number>();
      for (const declared of spec.ports ?? []) portMap.set(declared.containerPort, await freePort(PORT_RANGE[0], PORT_RANGE[1], takenPorts));
      running.set(service, startContainer(spec, containerEnv(spec, cluster), portMap));
    }
    for (const [service, container] of running) {
      const spec = container.spec;
      await untilProbeSucceeds(container, spec.startupProbe!);
      expect(await probeOnce(container, spec.livenessProbe!), `${service} liveness\n${tail(container)}`).toBe(200);
      await untilProbeSucceeds(container, spec.readinessProbe!);
      expect(await probeOnce(container, spec.readinessProbe!), `${service} readiness`).toBe(200);
    }
  });

  it('register → get → update → get → delete → get across the two services', async () => {
    const secret = containerEnv(podSpec('user-service').containers[0]!, cluster).JWT_SECRET!;
    const anonymous = await fetch(`${baseUrl('user-service')}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"anonymous"}' });
    expect(anonymous.status).toBe(401);
    const token = await signToken({ secret, scope: 'users:write', ttlSeconds: 300 });
    const steps = await runUserFlow({ userUrl: baseUrl('user-service'), dataUrl: baseUrl('data-service'), token });
    expect(steps.map((step) => step.step)).toEqual(['register', 'get (miss, then hit)', 'update', 'get after update', 'delete', 'get after delete']);
  });

  it("the helm test pod's check passes against them, with its Service URLs mapped to the local ports", async () => {
    const pod = find(render(chart.dir, externalProfile(scratch)), 'Pod', 'users-test-user-flow');
    const spec = (pod.spec as any).containers[0] as Container;
    const env = containerEnv(spec, cluster);
    for (const [variable, service] of [['USER_SERVICE_URL', 'user-service'], ['DATA_SERVICE_URL', 'data-service']] as const) {
      // In the cluster: http://users-<service>:80, the Service in front of the pods.
      const serviceObject = find(objects, 'Service', `users-${service}`);
      const servicePort = (serviceObject.spec as any).ports[0];
      expect(env[variable]).toBe(`http://${serviceObject.metadata.name}:${servicePort.port}`);
      env[variable] = baseUrl(service, servicePort.targetPort);
    }
    const check = await runToCompletion(spec, env, 30_000);
    expect(check.output.join('\n')).toMatch(/helm test passed/);
  });

  it('every metric the Grafana dashboard queries is exported by the services', async () => {
    const exported = new Set<string>();
    for (const service of running.keys()) {
      expect((await fetch(`${baseUrl(service)}/metrics`)).status, 'the API port serves no metrics').toBe(404);
      const text = await (await fetch(`${baseUrl(service, 'metrics')}/metrics`)).text();
      for (const line of text.split('\n')) if (line && !line.startsWith('#')) exported.add(line.split(/[{ ]/)[0]!);
    }
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'helm/dashboards/users-services.json'), 'utf8'));
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        for (const name of (target.expr as string).matchAll(/([a-z_:][a-z0-9_:]*)\{/g)) queried.add(name[1]!);
      }
    }
    expect(queried.size).toBeGreaterThanOrEqual(5);
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('on SIGTERM readiness fails at once, and the process exits 0 well within the grace period', async () => {
    await Promise.all(
      [...running.entries()].map(async ([service, container]) => {
        const graceMs = podSpec(service).terminationGracePeriodSeconds * 1000;
        const started = Date.now();
        container.child.kill('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await probeOnce(container, container.spec.readinessProbe!), `${service} readiness during the shutdown delay`).toBe(503);
        expect(await probeOnce(container, container.spec.livenessProbe!), `${service} liveness during the shutdown delay`).toBe(200);
        expect(await container.exited, tail(container)).toBe(0);
        expect(Date.now() - started).toBeLessThan(graceMs);
      }),
    );
  });
});

/** The local address of a service's port (http: the one its Service targets for the API). */
function baseUrl(service: string, port: number | string = 'http'): string {
  const container = running.get(service);
  if (!container) throw new Error(`${service} is not running`);
  return `http://127.0.0.1:${container.ports.get(resolvePort(container.spec, port))}`;
}
