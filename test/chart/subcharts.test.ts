// The chart rendered WITH the real Bitnami subcharts (postgresql 17.1.0, redis 23.1.1) in every
// configuration the values allow: every host, port, Secret and key our pods use must be an object
// the subcharts rendered, the password our pods read must be the one the server is initialised
// with, and the NetworkPolicies must admit our pods and nobody else. Skipped, saying why, when
// helm/charts/ lacks the subcharts (a fresh clone).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithSubcharts, find, helm, ofKind, render, templateArgs, chartSource, type KubeObject, type RenderOptions } from './support/helm.ts';
import { admits, environment, ourPods, podsOf, resolveService, serverSecret, type Pod, type SecretRef } from './support/resolve.ts';
import { profiles } from './profiles.ts';

const namespace = 'users';
const namespaceLabels = { 'kubernetes.io/metadata.name': namespace };

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'users-subcharts-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Values from a file, for values --set cannot carry (template braces). */
function valuesFileWith(text: string): string {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

const asRef = (value: string | SecretRef | undefined): SecretRef | undefined => (typeof value === 'object' ? value : undefined);

interface Resolved {
  objects: KubeObject[];
  postgres?: { service: string; port: number; pod: Pod; containerPort: number; user: string; database: string; password?: SecretRef };
  redis?: { service: string; port: number; pod: Pod; containerPort: number; password?: SecretRef };
}

/**
 * Renders and resolves every reference of every container of our pods (init containers included)
 * against the rendered objects; fails on the first that does not resolve.
 */
function resolveAll(options: RenderOptions): Resolved {
  const objects = render(chartSource, { namespace, ...options });
  const names = objects.map((object) => `${object.kind}/${object.metadata.name}`);
  expect(new Set(names).size, `no two objects share kind and name: ${names.join(' ')}`).toBe(names.length);
  for (const object of objects) {
    expect(object.metadata.name.length, `${object.kind}/${object.metadata.name}`).toBeLessThanOrEqual(object.kind === 'StatefulSet' ? 52 : 63);
  }
  const secrets = new Map(ofKind(objects, 'Secret').map((secret) => [secret.metadata.name, Object.keys((secret.data as object) ?? {})]));
  const resolved: Resolved = { objects };
  const pods = ourPods(objects);
  expect(pods.map((pod) => pod.owner).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/user-service$/), expect.stringMatching(/data-service$/)]));

  for (const pod of pods) {
    for (const container of [...pod.initContainers, ...pod.containers]) {
      const where = `${pod.owner} ${container.name}`;
      const env = environment(objects, container);
      // wait-for-postgresql only opens a TCP connection: it needs the host and port, no credentials.
      const authenticates = container.name !== 'wait-for-postgresql';
      // Every secretKeyRef names a rendered Secret with that key, or an existing Secret (not ours to render) the server reads too.
      for (const [variable, value] of Object.entries(env)) {
        const ref = asRef(value);
        if (ref && secrets.has(ref.name)) expect(secrets.get(ref.name), `${where} ${variable} → Secret ${ref.name}`).toContain(ref.key);
      }
      if (typeof env.PGHOST === 'string' && options.set?.['postgresql.enabled'] !== false) {
        const port = Number(env.PGPORT);
        const { pod: server, containerPort } = resolveService(objects, env.PGHOST, port);
        expect(server.labels['app.kubernetes.io/name'], `${where} PGHOST ${env.PGHOST}`).toBe(options.set?.['postgresql.nameOverride'] ?? 'postgresql');
        const postgres = server.containers.find((candidate) => candidate.name === 'postgresql')!;
        const serverEnv = Object.fromEntries((postgres.env ?? []).map((variable) => [variable.name, variable.value]));
        // Writes and LISTEN need the primary (a read replica refuses both).
        expect(server.labels['app.kubernetes.io/component'], `${where} PGHOST ${env.PGHOST}`).toBe('primary');
        const user = env.PGUSER as string;
        const customUser = serverEnv.POSTGRES_USER;
        expect(user === 'postgres' || user === customUser, `${where} PGUSER ${user}, server creates ${customUser}`).toBe(true);
        expect(env.PGDATABASE, `${where} PGDATABASE`).toBe(serverEnv.POSTGRES_DATABASE ?? 'postgres');
        // The password the server sets for PGUSER at initialisation.
        const serverPassword =
          user === 'postgres' && customUser && customUser !== 'postgres'
            ? serverSecret(server, postgres, 'POSTGRES_POSTGRES_PASSWORD')
            : serverSecret(server, postgres, 'POSTGRES_PASSWORD');
        expect(serverPassword, `${where}: the server sets a password for ${user}`).toBeDefined();
        if (authenticates) expect(asRef(env.PGPASSWORD), `${where} PGPASSWORD is what the server was initialised with`).toEqual(serverPassword);
        resolved.postgres = { service: env.PGHOST, port, pod: server, containerPort, user, database: env.PGDATABASE as string, password: serverPassword };
      }
      if (typeof env.REDIS_HOST === 'string' && options.set?.['redis.enabled'] !== false) {
        const port = Number(env.REDIS_PORT);
        const { pod: server, containerPort } = resolveService(objects, env.REDIS_HOST, port);
        expect(server.labels['app.kubernetes.io/name'], `${where} REDIS_HOST ${env.REDIS_HOST}`).toBe(options.set?.['redis.nameOverride'] ?? 'redis');
        const redis = server.containers.find((candidate) => candidate.name === 'redis')!;
        const serverPassword = serverSecret(server, redis, 'REDIS_PASSWORD');
        if (authenticates) expect(asRef(env.REDIS_PASSWORD), `${where} REDIS_PASSWORD is the server's requirepass`).toEqual(serverPassword);
        if (!serverPassword) expect(redis.env?.find((variable) => variable.name === 'ALLOW_EMPTY_PASSWORD')?.value).toBe('yes');
        resolved.redis = { service: env.REDIS_HOST, port, pod: server, containerPort, password: serverPassword };
      }
    }
  }
  // The server's own Secrets are rendered unless they are existing ones.
  for (const password of [resolved.postgres?.password, resolved.redis?.password]) {
    if (password && secrets.has(password.name)) expect(secrets.get(password.name)).toContain(password.key);
  }
  return resolved;
}

/** Our pods reach both servers; a pod of anything else (same release, same namespace) does not. */
function expectOnlyOurPodsReach(resolved: Resolved): void {
  const stranger = { labels: { 'app.kubernetes.io/instance': 'users', 'app.kubernetes.io/name': 'debug-shell' } };
  for (const server of [resolved.postgres, resolved.redis]) {
    if (!server) continue;
    for (const pod of ourPods(resolved.objects)) {
      expect(admits(resolved.objects, { labels: pod.labels }, server.pod, server.containerPort, namespaceLabels), `${pod.owner} → ${server.service}`).toBe(true);
    }
    expect(admits(resolved.objects, stranger, server.pod, server.containerPort, namespaceLabels), `a stranger → ${server.service}`).toBe(false);
  }
}

const wired = (options: RenderOptions) => {
  const { postgres, redis } = resolveAll(options);
  return { PGHOST: postgres?.service, PGSECRET: postgres?.password?.name, REDIS_HOST: redis?.service, REDIS_SECRET: redis?.password?.name };
};

describeWithSubcharts('with the real subcharts, every reference of our pods resolves', () => {
  it.each([
    ['users', 'users-postgresql', 'users-redis'],
    // Bitnami drops the chart name from a release name that contains it.
    ['team-postgresql-users', 'team-postgresql-users', 'team-postgresql-users-redis'],
    ['redis', 'redis-postgresql', 'redis'],
    ['redis-cache', 'redis-cache-postgresql', 'redis-cache'],
    // At the length limit: 39 characters make a 52-character Redis StatefulSet.
    ['a'.repeat(39), `${'a'.repeat(39)}-postgresql`, `${'a'.repeat(39)}-redis`],
  ])('release %s → PostgreSQL %s, Redis %s-master', (release, postgres, redis) => {
    expect(wired({ release })).toEqual({ PGHOST: postgres, PGSECRET: postgres, REDIS_HOST: `${redis}-master`, REDIS_SECRET: redis });
  });

  it('a release name containing both chart names fails at render time, saying what to set; an override makes it work', () => {
    const result = helm(templateArgs(chartSource, { release: 'my-redis-and-postgresql' }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/both be named "my-redis-and-postgresql".*set postgresql\.fullnameOverride or redis\.fullnameOverride/);
    expect(wired({ release: 'my-redis-and-postgresql', set: { 'redis.fullnameOverride': 'cache' } })).toMatchObject({ PGHOST: 'my-redis-and-postgresql', REDIS_HOST: 'cache-master' });
  });

  it('a release name too long for the subcharts’ names fails at render time, saying what to change; overrides make it work', () => {
    for (const [release, override] of [
      ['a'.repeat(40), 'redis.fullnameOverride'],
      ['long-release-' + 'x'.repeat(40), 'postgresql.fullnameOverride'],
    ] as const) {
      const result = helm(templateArgs(chartSource, { release }));
      expect(result.status, release).not.toBe(0);
      expect(result.stderr).toMatch(new RegExp(`release name "${release}" is too long: .*use a shorter release name or set ${override.replace('.', '\\.')}`));
    }
    expect(wired({ release: 'long-release-' + 'x'.repeat(40), set: { 'postgresql.fullnameOverride': 'db', 'redis.fullnameOverride': 'cache' } })).toEqual({
      PGHOST: 'db',
      PGSECRET: 'db',
      REDIS_HOST: 'cache-master',
      REDIS_SECRET: 'cache',
    });
  });

  it('a release name with characters Bitnami rewrites (dots) resolves', () => {
    expect(wired({ release: 'shop.v2' })).toEqual({ PGHOST: 'shop-v2-postgresql', PGSECRET: 'shop-v2-postgresql', REDIS_HOST: 'shop-v2-redis-master', REDIS_SECRET: 'shop-v2-redis' });
  });

  it('fullnameOverride and nameOverride, on the umbrella and on each subchart', () => {
    expect(wired({ set: { fullnameOverride: 'shop' } })).toMatchObject({ PGHOST: 'users-postgresql', REDIS_HOST: 'users-redis-master' });
    expect(wired({ set: { 'postgresql.fullnameOverride': 'db', 'redis.fullnameOverride': 'cache' } })).toEqual({ PGHOST: 'db', PGSECRET: 'db', REDIS_HOST: 'cache-master', REDIS_SECRET: 'cache' });
    expect(wired({ set: { 'postgresql.nameOverride': 'pg', 'redis.nameOverride': 'kv' } })).toEqual({
      PGHOST: 'users-pg',
      PGSECRET: 'users-pg',
      REDIS_HOST: 'users-kv-master',
      REDIS_SECRET: 'users-kv',
    });
  });

  it('global.postgresql.* wins over postgresql.*, for the Service, the Secret, the user, the database and the port', () => {
    expect(wired({ set: { 'global.postgresql.fullnameOverride': 'pg-main' } })).toMatchObject({ PGHOST: 'pg-main', PGSECRET: 'pg-main' });
    const { postgres } = resolveAll({
      set: { 'global.postgresql.auth.username': 'shop', 'global.postgresql.auth.database': 'shop_db', 'global.postgresql.service.ports.postgresql': 6000 },
    });
    expect(postgres).toMatchObject({ user: 'shop', database: 'shop_db', port: 6000 });
    const shared = resolveAll({
      set: { 'global.postgresql.auth.existingSecret': 'shared-pg', 'global.postgresql.auth.secretKeys.userPasswordKey': 'shop-password' },
    });
    expect(shared.postgres?.password).toEqual({ name: 'shared-pg', key: 'shop-password' });
  });

  it('auth.existingSecret with default and custom keys, and templated names', () => {
    expect(resolveAll({ set: { 'postgresql.auth.existingSecret': 'pg-creds' } }).postgres?.password).toEqual({ name: 'pg-creds', key: 'password' });
    expect(
      resolveAll({ set: { 'postgresql.auth.existingSecret': 'pg-creds', 'postgresql.auth.secretKeys.userPasswordKey': 'app-password' } }).postgres?.password,
    ).toEqual({ name: 'pg-creds', key: 'app-password' });
    expect(resolveAll({ set: { 'redis.auth.existingSecret': 'redis-creds' } }).redis?.password).toEqual({ name: 'redis-creds', key: 'redis-password' });
    expect(resolveAll({ set: { 'redis.auth.existingSecret': 'redis-creds', 'redis.auth.existingSecretPasswordKey': 'secret' } }).redis?.password).toEqual({
      name: 'redis-creds',
      key: 'secret',
    });
    const templated = resolveAll({
      valuesFiles: [valuesFileWith('postgresql:\n  auth:\n    existingSecret: "{{ .Release.Name }}-pg"\nredis:\n  auth:\n    existingSecret: "{{ .Release.Name }}-kv"\n')],
    });
    expect([templated.postgres?.password, templated.redis?.password]).toEqual([
      { name: 'users-pg', key: 'password' },
      { name: 'users-kv', key: 'redis-password' },
    ]);
  });

  it('as the postgres user (username postgres or empty), with the generated Secret or an existing one', () => {
    for (const username of ['postgres', '']) {
      const { postgres } = resolveAll({ set: { 'postgresql.auth.username': username } });
      expect(postgres).toMatchObject({ user: 'postgres', password: { name: 'users-postgresql', key: 'postgres-password' } });
    }
    const existing = resolveAll({
      set: { 'postgresql.auth.username': 'postgres', 'postgresql.auth.existingSecret': 'pg-creds', 'postgresql.auth.secretKeys.adminPasswordKey': 'root-password' },
    });
    expect(existing.postgres?.password).toEqual({ name: 'pg-creds', key: 'root-password' });
  });

  it('Redis without auth: no password on either side', () => {
    const { redis } = resolveAll({ set: { 'redis.auth.enabled': false } });
    expect(redis?.password).toBeUndefined();
  });

  it('non-default Service and container ports', () => {
    const { postgres, redis } = resolveAll({
      set: {
        'postgresql.primary.service.ports.postgresql': 6543,
        'postgresql.containerPorts.postgresql': 5433,
        'redis.master.service.ports.redis': 6380,
        'redis.master.containerPorts.redis': 6390,
        'networkPolicy.enabled': true,
      },
    });
    expect([postgres?.port, postgres?.containerPort, redis?.port, redis?.containerPort]).toEqual([6543, 5433, 6380, 6390]);
    expectOnlyOurPodsReach(resolveAll({ set: { 'postgresql.containerPorts.postgresql': 5433, 'redis.master.containerPorts.redis': 6390, 'networkPolicy.enabled': true } }));
  });

  it('architecture replication: writes and LISTEN go to <fullname>-primary, and the replicas still replicate under the NetworkPolicy', () => {
    const resolved = resolveAll({ set: { 'postgresql.architecture': 'replication', 'networkPolicy.enabled': true } });
    expect(resolved.postgres?.service).toBe('users-postgresql-primary');
    expectOnlyOurPodsReach(resolved);
    const replica = podsOf(resolved.objects).find((pod) => pod.labels['app.kubernetes.io/component'] === 'read')!;
    expect(admits(resolved.objects, { labels: replica.labels }, resolved.postgres!.pod, resolved.postgres!.containerPort, namespaceLabels)).toBe(true);
  });

  it('external servers: no subchart objects, and the services point at the external hosts', () => {
    const objects = render(chartSource, profiles.external);
    expect(objects.filter((object) => object.kind === 'StatefulSet')).toEqual([]);
    // The only Secret is the chart's own signing key.
    expect(objects.filter((object) => object.kind === 'Secret').map((object) => object.metadata.name)).toEqual(['users-auth']);
    expect(objects.some((object) => /^(postgresql|redis)$/.test(object.metadata.labels?.['app.kubernetes.io/name'] ?? ''))).toBe(false);
  });
});

describeWithSubcharts('with the real subcharts, the NetworkPolicies', () => {
  it('one value turns them on: only our pods (init containers included) reach PostgreSQL and Redis', () => {
    expectOnlyOurPodsReach(resolveAll({ set: { 'networkPolicy.enabled': true } }));
  });

  it("hold with Bitnami's own policies left on with allowExternal=false (our pods are labelled as clients)", () => {
    const set = {
      'networkPolicy.enabled': true,
      'postgresql.primary.networkPolicy.enabled': true,
      'postgresql.primary.networkPolicy.allowExternal': false,
      'redis.networkPolicy.enabled': true,
      'redis.networkPolicy.allowExternal': false,
    };
    const resolved = resolveAll({ set });
    expect(ofKind(resolved.objects, 'NetworkPolicy').map((policy) => policy.metadata.name).sort()).toEqual(
      ['users-postgresql', 'users-postgresql-ingress', 'users-redis', 'users-redis-ingress', 'users-services'].sort(),
    );
    expectOnlyOurPodsReach(resolved);
    // Bitnami's policies alone (ours off) admit our pods too, by the client labels.
    expectOnlyOurPodsReach(resolveAll({ set: { ...set, 'networkPolicy.enabled': false } }));
  });

  it("refuse Bitnami's allow-all policies, which would void them, with the value to change", () => {
    const result = helm(templateArgs(chartSource, { set: { 'networkPolicy.enabled': true, 'redis.networkPolicy.enabled': true } }));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/redis\.networkPolicy\.allowExternal is true; set it to false/);
  });

  it('admit Prometheus to the exporters’ metrics ports and to nothing else', () => {
    const resolved = resolveAll({ set: { 'networkPolicy.enabled': true, 'postgresql.metrics.enabled': true, 'redis.metrics.enabled': true } });
    const prometheus = { labels: { 'app.kubernetes.io/name': 'prometheus' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' } };
    for (const [server, metricsPort] of [
      [resolved.postgres!, 'http-metrics'],
      [resolved.redis!, 'metrics'],
    ] as const) {
      const port = server.pod.containers.flatMap((container) => container.ports ?? []).find((candidate) => candidate.name === metricsPort)!.containerPort;
      expect(admits(resolved.objects, prometheus, server.pod, port, namespaceLabels), `Prometheus → ${server.service}:${port}`).toBe(true);
      expect(admits(resolved.objects, prometheus, server.pod, server.containerPort, namespaceLabels), `Prometheus → ${server.service}:${server.containerPort}`).toBe(false);
      expect(admits(resolved.objects, { labels: { app: 'other' } }, server.pod, port, namespaceLabels)).toBe(false);
    }
  });

  it('the production profile: resolved and closed', () => {
    expectOnlyOurPodsReach(resolveAll(profiles.production));
  });
});

describeWithSubcharts('with the real subcharts, the data tier', () => {
  it('Redis runs as a cache: maxmemory from its memory limit, an evicting policy, no AOF, no RDB, no volume', () => {
    const objects = render(chartSource, { namespace });
    const conf = (find(objects, 'ConfigMap', 'users-redis-configuration').data as Record<string, string>)['redis.conf']!;
    expect(conf).toMatch(/^maxmemory 201326592$/m); // three quarters of 256Mi
    expect(conf).toMatch(/^maxmemory-policy allkeys-lru$/m);
    expect(conf).toMatch(/^appendonly no$/m);
    expect(conf).toMatch(/^save ""$/m);
    const redis = find(objects, 'StatefulSet', 'users-redis-master').spec as any;
    expect(redis.volumeClaimTemplates).toBeUndefined();
    expect(redis.template.spec.volumes.find((volume: any) => volume.name === 'redis-data')).toEqual({ name: 'redis-data', emptyDir: {} });
    expect(redis.template.spec.containers[0].resources.limits.memory).toBe('256Mi');
    // The start script includes the rendered redis.conf (the settings above take effect).
    expect((find(objects, 'ConfigMap', 'users-redis-scripts').data as Record<string, string>)['start-master.sh']).toContain('--include" "/opt/bitnami/redis/etc/redis.conf"');
    const explicit = render(chartSource, { set: { 'redis.cache.maxmemory': '100mb', 'redis.cache.maxmemoryPolicy': 'allkeys-lfu' } });
    const explicitConf = (find(explicit, 'ConfigMap', 'users-redis-configuration').data as Record<string, string>)['redis.conf']!;
    expect(explicitConf).toMatch(/^maxmemory 100mb$/m);
    expect(explicitConf).toMatch(/^maxmemory-policy allkeys-lfu$/m);
    const result = helm(templateArgs(chartSource, { set: { 'redis.master.resources.limits.memory': '0.5Gi' } }));
    expect(result.stderr).toMatch(/redis\.master\.resources\.limits\.memory "0\.5Gi".*or set redis\.cache\.maxmemory/);
  });

  it('PostgreSQL keeps its data on a volume and has explicit resources, in both profiles', () => {
    for (const options of [{}, profiles.production]) {
      const objects = render(chartSource, options);
      const postgres = find(objects, 'StatefulSet', 'users-postgresql').spec as any;
      expect(postgres.volumeClaimTemplates[0].spec.resources.requests.storage).toMatch(/Gi$/);
      const resources = postgres.template.spec.containers[0].resources;
      expect(resources.requests.cpu).toBeDefined();
      expect(resources.limits.memory).toBeDefined();
    }
  });

  it('the default install references no moving or removed image: every image has a versioned tag outside docker.io/bitnami', () => {
    for (const options of [{}, profiles.production, { set: { 'postgresql.metrics.enabled': true, 'redis.metrics.enabled': true, 'postgresql.volumePermissions.enabled': true } }]) {
      const objects = render(chartSource, options);
      const images = podsOf(objects)
        .flatMap((pod) => [...pod.initContainers, ...pod.containers])
        .map((container) => (container as unknown as { image: string }).image)
        .filter((image) => !/^(user|data)-service:/.test(image));
      expect(images.length).toBeGreaterThanOrEqual(2);
      for (const image of images) {
        expect(image, image).toMatch(/^docker\.io\/bitnamilegacy\/[a-z-]+:\d[\w.-]*$/);
        expect(image).not.toMatch(/:latest$|^docker\.io\/bitnami\//);
      }
    }
  });

  it('a mirror is one value (global.imageRegistry), and the subcharts accept it', () => {
    const objects = render(chartSource, { set: { 'global.imageRegistry': 'registry.example.com' } });
    const images = podsOf(objects).flatMap((pod) => pod.containers.map((container) => (container as unknown as { image: string }).image));
    expect(images).toEqual(expect.arrayContaining(['registry.example.com/bitnamilegacy/postgresql:17.6.0-debian-12-r4', 'registry.example.com/bitnamilegacy/redis:8.2.1-debian-12-r0']));
  });
});
