// Where the pods look for PostgreSQL and Redis, and where they read the passwords from, must be
// exactly what the Bitnami subcharts create for that release name (or the external server and its
// existing Secret). Passwords reach the pods only by secretKeyRef. These run without the subcharts
// too (CI); subcharts.test.ts resolves the same names against the real subcharts' objects.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { find, ofKind, render, type KubeObject, type RenderableChart, type RenderOptions, renderableChart } from './support/helm.ts';
import type { Container } from './support/kubelet-env.ts';
import { profiles } from './profiles.ts';

let chart: RenderableChart;
beforeAll(() => {
  chart = renderableChart();
});
afterAll(() => chart.dispose());

const longRelease = `long-release-${'x'.repeat(40)}`;

interface Wiring {
  config: Record<string, string>;
  pgPassword?: unknown;
  redisPassword?: unknown;
}

function containersOf(objects: KubeObject[]): Container[] {
  return ofKind(objects, 'Deployment').flatMap((deployment) => {
    const pod = (deployment.spec as any).template.spec;
    return [...(pod.initContainers ?? []), ...pod.containers] as Container[];
  });
}

/** The connection settings each Deployment's main container gets; both services must agree. */
function wiring(options: RenderOptions): Wiring {
  const objects = render(chart.dir, options);
  const seen = ['user-service', 'data-service'].map((service) => {
    const deployment = ofKind(objects, 'Deployment').find((candidate) => candidate.metadata.labels?.['app.kubernetes.io/name'] === service);
    const container = (deployment!.spec as any).template.spec.containers[0] as Container;
    const configMap = container.envFrom?.[0]?.configMapRef?.name;
    const data = find(objects, 'ConfigMap', configMap!).data as Record<string, string>;
    const secretRef = (name: string) => container.env?.find((variable) => variable.name === name)?.valueFrom?.secretKeyRef;
    const pick = ['PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER', 'REDIS_HOST', 'REDIS_PORT'];
    return {
      config: Object.fromEntries(pick.filter((key) => key in data).map((key) => [key, data[key]!])),
      pgPassword: secretRef('PGPASSWORD'),
      redisPassword: secretRef('REDIS_PASSWORD'),
    };
  });
  expect(seen[1]).toEqual(seen[0]);
  return seen[0]!;
}

describe('with the Bitnami subcharts, the services follow their naming rules', () => {
  it.each([
    ['users', 'users-postgresql', 'users-redis'],
    // Bitnami drops the suffix when the release name already contains the chart name.
    ['team-postgresql-users', 'team-postgresql-users', 'team-postgresql-users-redis'],
    ['redis', 'redis-postgresql', 'redis'],
    // Bitnami rewrites what a DNS label cannot hold.
    ['shop.v2', 'shop-v2-postgresql', 'shop-v2-redis'],
  ])('release %s → PostgreSQL %s, Redis %s', (release, pgName, redisName) => {
    expect(wiring({ release })).toEqual({
      config: {
        PGHOST: pgName,
        PGPORT: '5432',
        PGDATABASE: 'users',
        PGUSER: 'users',
        REDIS_HOST: `${redisName}-master`,
        REDIS_PORT: '6379',
      },
      pgPassword: { name: pgName, key: 'password' },
      redisPassword: { name: redisName, key: 'redis-password' },
    });
  });

  it('names that would collide or exceed Kubernetes limits fail at render time, saying what to change', () => {
    expect(() => wiring({ release: 'my-redis-and-postgresql' })).toThrow(/set postgresql\.fullnameOverride or redis\.fullnameOverride/);
    expect(() => wiring({ release: longRelease })).toThrow(/release name "long-release-x+" is too long: .*use a shorter release name or set postgresql\.fullnameOverride/);
    expect(wiring({ release: longRelease, set: { 'postgresql.fullnameOverride': 'db', 'redis.fullnameOverride': 'cache' } }).config).toMatchObject({
      PGHOST: 'db',
      REDIS_HOST: 'cache-master',
    });
  });

  it('architecture replication: the services use the primary', () => {
    expect(wiring({ set: { 'postgresql.architecture': 'replication' } }).config.PGHOST).toBe('users-postgresql-primary');
  });

  it('fullnameOverride wins over the release name', () => {
    const { config, pgPassword, redisPassword } = wiring({
      release: 'users',
      set: { 'postgresql.fullnameOverride': 'db', 'redis.fullnameOverride': 'cache' },
    });
    expect([config.PGHOST, config.REDIS_HOST]).toEqual(['db', 'cache-master']);
    expect(pgPassword).toEqual({ name: 'db', key: 'password' });
    expect(redisPassword).toEqual({ name: 'cache', key: 'redis-password' });
  });

  it('nameOverride replaces the chart name in the generated names', () => {
    const { config } = wiring({ release: 'users', set: { 'postgresql.nameOverride': 'pg', 'redis.nameOverride': 'kv' } });
    expect([config.PGHOST, config.REDIS_HOST]).toEqual(['users-pg', 'users-kv-master']);
  });

  it('as the postgres user (or no username) the password is the admin key', () => {
    for (const username of ['postgres', '']) {
      const { config, pgPassword } = wiring({ set: { 'postgresql.auth.username': username } });
      expect(config.PGUSER).toBe('postgres');
      expect(pgPassword).toEqual({ name: 'users-postgresql', key: 'postgres-password' });
    }
  });

  it("an existing Secret is read under the subchart's secretKeys", () => {
    expect(
      wiring({ set: { 'postgresql.auth.existingSecret': 'pg-creds', 'postgresql.auth.secretKeys.userPasswordKey': 'app-password' } }).pgPassword,
    ).toEqual({ name: 'pg-creds', key: 'app-password' });
    expect(wiring({ set: { 'postgresql.auth.existingSecret': 'pg-creds' } }).pgPassword).toEqual({ name: 'pg-creds', key: 'password' });
    expect(
      wiring({
        set: { 'postgresql.auth.existingSecret': 'pg-creds', 'postgresql.auth.username': 'postgres', 'postgresql.auth.secretKeys.adminPasswordKey': 'root-password' },
      }).pgPassword,
    ).toEqual({ name: 'pg-creds', key: 'root-password' });
    expect(
      wiring({ set: { 'redis.auth.existingSecret': 'redis-creds', 'redis.auth.existingSecretPasswordKey': 'secret' } }).redisPassword,
    ).toEqual({ name: 'redis-creds', key: 'secret' });
    // Without a key Bitnami falls back to redis-password.
    expect(wiring({ set: { 'redis.auth.existingSecret': 'redis-creds' } }).redisPassword).toEqual({ name: 'redis-creds', key: 'redis-password' });
  });

  it('global.postgresql.* wins over postgresql.*, as in the subchart', () => {
    const { config, pgPassword } = wiring({
      set: {
        'global.postgresql.auth.username': 'shop',
        'global.postgresql.auth.database': 'shop_db',
        'global.postgresql.auth.existingSecret': 'shared-pg',
        'global.postgresql.auth.secretKeys.userPasswordKey': 'shop-password',
        'global.postgresql.service.ports.postgresql': 6000,
      },
    });
    expect(config).toMatchObject({ PGUSER: 'shop', PGDATABASE: 'shop_db', PGPORT: '6000' });
    expect(pgPassword).toEqual({ name: 'shared-pg', key: 'shop-password' });
    // The global fullnameOverride renames the Service and the generated Secret alike.
    const renamed = wiring({ set: { 'global.postgresql.fullnameOverride': 'pg-main' } });
    expect(renamed.config.PGHOST).toBe('pg-main');
    expect(renamed.pgPassword).toEqual({ name: 'pg-main', key: 'password' });
  });

  it('existing Secret names may be templates, as the subcharts allow', () => {
    // A values file, since --set cannot carry template braces.
    const file = join(mkdtempSync(join(tmpdir(), 'users-values-')), 'templated-secrets.yaml');
    writeFileSync(file, 'postgresql:\n  auth:\n    existingSecret: "{{ .Release.Name }}-pg"\nredis:\n  auth:\n    existingSecret: "{{ .Release.Name }}-kv"\n');
    const { pgPassword, redisPassword } = wiring({ valuesFiles: [file] });
    rmSync(dirname(file), { recursive: true });
    expect([pgPassword, redisPassword]).toEqual([
      { name: 'users-pg', key: 'password' },
      { name: 'users-kv', key: 'redis-password' },
    ]);
  });

  it('non-default ports and database follow the subchart values', () => {
    const { config } = wiring({
      set: { 'postgresql.primary.service.ports.postgresql': 6543, 'redis.master.service.ports.redis': 6380, 'postgresql.auth.database': 'accounts' },
    });
    expect(config).toMatchObject({ PGPORT: '6543', REDIS_PORT: '6380', PGDATABASE: 'accounts' });
  });

  it('Redis without auth gets no password variable at all', () => {
    expect(wiring({ set: { 'redis.auth.enabled': false } }).redisPassword).toBeUndefined();
  });
});

describe('with external servers', () => {
  it('the services use externalDatabase / externalRedis and their existing Secrets', () => {
    const objects = render(chart.dir, profiles.external);
    expect(wiring(profiles.external)).toEqual({
      config: {
        PGHOST: 'db.internal.example',
        PGPORT: '6432',
        PGDATABASE: 'users_prod',
        PGUSER: 'users_app',
        REDIS_HOST: 'cache.internal.example',
        REDIS_PORT: '6380',
      },
      pgPassword: { name: 'users-db-credentials', key: 'db-password' },
      redisPassword: { name: 'users-cache-credentials', key: 'cache-password' },
    });
    const data = find(objects, 'ConfigMap', 'users-data-service').data as Record<string, string>;
    expect(data).toMatchObject({ REDIS_DB: '2', PGSSLMODE: 'prefer' });
  });

  it('PG_POOL_MAX only when a pool size is set: unset, each service sizes its pool for its CPU limit', () => {
    const poolOf = (options: RenderOptions) =>
      ['users-user-service', 'users-data-service'].map((name) => (find(render(chart.dir, options), 'ConfigMap', name).data as Record<string, string>).PG_POOL_MAX);
    expect(poolOf({})).toEqual([undefined, undefined]);
    expect(poolOf({ set: { 'userService.pgPoolMax': 4, 'dataService.pgPoolMax': 6 } })).toEqual(['4', '6']);
  });

  it('servers without passwords get no password variables', () => {
    const { pgPassword, redisPassword } = wiring({
      set: { 'postgresql.enabled': false, 'redis.enabled': false, 'externalDatabase.host': 'db', 'externalRedis.host': 'cache' },
    });
    expect([pgPassword, redisPassword]).toEqual([undefined, undefined]);
  });
});

describe('passwords never appear as plain values', () => {
  const pgSentinel = 'pg-SENTINEL-7f3a';
  const redisSentinel = 'redis-SENTINEL-9c1d';

  it.each(Object.entries(profiles))('%s profile: only secretKeyRef, no Secret of our own but the token signing key, no password in any of our objects', (_name, options) => {
    const objects = render(chart.dir, {
      ...options,
      set: { ...(options as RenderOptions).set, 'postgresql.auth.password': pgSentinel, 'redis.auth.password': redisSentinel },
    });
    const subchartObject = (object: KubeObject) => /^(postgresql|redis)$/.test(object.metadata.labels?.['app.kubernetes.io/name'] ?? '');
    const ours = objects.filter((object) => !subchartObject(object));
    // The one Secret of ours is the token signing key, random per install (auth-secret.yaml).
    expect(ofKind(ours, 'Secret').map((secret) => [secret.metadata.name.replace(/^.*-auth$/, '<release>-auth'), Object.keys(secret.data as object)])).toEqual([
      ['<release>-auth', ['jwt-secret']],
    ]);
    const text = JSON.stringify(ours);
    expect(text).not.toContain(pgSentinel);
    expect(text).not.toContain(redisSentinel);
    for (const container of containersOf(objects)) {
      for (const variable of container.env ?? []) {
        if (/PASSWORD|SECRET/.test(variable.name)) {
          expect(variable.value, `${container.name} ${variable.name}`).toBeUndefined();
          expect(variable.valueFrom?.secretKeyRef, `${container.name} ${variable.name}`).toBeDefined();
        }
      }
    }
    for (const configMap of ofKind(ours, 'ConfigMap')) {
      expect(Object.keys((configMap.data as object) ?? {}).filter((key) => /PASSWORD|SECRET|TOKEN|DATABASE_URL|REDIS_URL/.test(key))).toEqual([]);
    }
  });
});
