// The product on the local node, as a user runs it: helm upgrade --install with the dev values,
// helm test, npm run e2e, an upgrade and a rollback under load, a pod, Redis and PostgreSQL taken
// away under load, and helm uninstall.
//
// It runs the chart's "external database" path: postgresql.enabled=false and redis.enabled=false,
// against real PostgreSQL and Redis servers on this machine that the pods reach by the node's
// address, and needs nothing that a fresh clone lacks. The subcharts' path, with stand-ins for the
// Bitnami images, is test/cluster/subcharts.test.ts.

import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cannotRun, eventually, kubectl, root, run, runScript, settings, stopNode } from './local-node.ts';
import { buildAndLoadImages, clusterUrl, deploymentImages, helmAsync, helmRun, helmTest, kubectlAsync, pause, podReadiness, release, releaseObjects, releaseToken, seconds, secretData, userEnv } from './release.ts';
import { externalPostgres, externalRedis, queryExternal, type ExternalServer } from './external-servers.ts';
import { startTraffic } from './traffic.ts';

const reason = cannotRun();
if (reason && process.env.CI) throw new Error(`CI must run the local node, but ${reason}`);
if (reason) console.log(`skipped: ${reason}`);

const figures: Record<string, unknown> = {};

/** The chart as helm takes it: with the subcharts when helm/charts/ has them, else without the dependencies (both are off here). */
function chartDirectory(): { dir: string; cleanup: () => void } {
  const vendored = ['postgresql', 'redis'].every((name) => existsSync(path.join(root, 'helm/charts', name, 'Chart.yaml')));
  if (vendored) return { dir: path.join(root, 'helm'), cleanup: () => undefined };
  const copy = mkdtempSync(path.join(tmpdir(), 'users-chart-'));
  cpSync(path.join(root, 'helm'), copy, { recursive: true });
  const chart = readFileSync(path.join(copy, 'Chart.yaml'), 'utf8');
  writeFileSync(path.join(copy, 'Chart.yaml'), chart.replace(/^dependencies:\n(?:[ -].*\n)*/m, ''));
  rmSync(path.join(copy, 'Chart.lock'), { force: true });
  return { dir: copy, cleanup: () => rmSync(copy, { recursive: true, force: true }) };
}

describe.skipIf(reason)('the product on the local node (external PostgreSQL and Redis)', () => {
  let postgres: ExternalServer;
  let redis: ExternalServer;
  let chart: { dir: string; cleanup: () => void };
  let token: string | undefined;
  // A token of ten minutes, signed anew for each test that writes.
  const freshToken = async () => (token = await releaseToken());
  let values: string[];

  beforeAll(async () => {
    const up = runScript('k8s-dev/local-node/up.sh', 50 * 60_000);
    if (up.status !== 0) throw new Error(`make cluster-up failed: ${up.stderr.trim().split('\n').pop()}`);
    postgres = await externalPostgres(settings.NODE_IP!, run('bash', ['-c', `source k8s-dev/local-node/config.sh && echo $POD_CIDR`]).trim());
    redis = await externalRedis(settings.NODE_IP!);
    const started = performance.now();
    buildAndLoadImages(['cluster-1', 'cluster-2']);
    figures.imagesBuiltAndLoadedSeconds = seconds(started);
    kubectl(['create', 'secret', 'generic', 'external-postgres', `--from-literal=password=${postgres.password}`]);
    kubectl(['create', 'secret', 'generic', 'external-redis', `--from-literal=redis-password=${redis.password}`]);
    chart = chartDirectory();
    values = [
      '--values', 'k8s-dev/values-dev.yaml',
      '--set', 'postgresql.enabled=false,redis.enabled=false',
      '--set', `externalDatabase.host=${postgres.host},externalDatabase.port=${postgres.port},externalDatabase.sslMode=disable,externalDatabase.existingSecret=external-postgres`,
      '--set', `externalRedis.host=${redis.host},externalRedis.port=${redis.port},externalRedis.existingSecret=external-redis`,
      '--set', 'dataService.replicaCount=2',
    ];
  }, 55 * 60_000);

  afterAll(async () => {
    try {
      helmRun(['uninstall', release, '--wait', '--ignore-not-found']);
    } catch {
      // Already gone, or the cluster is: cluster-down removes everything anyway.
    }
    kubectl(['delete', 'secret', 'external-postgres', 'external-redis', '--ignore-not-found']);
    chart?.cleanup();
    await postgres?.remove();
    await redis?.remove();
    console.log(`figures: ${JSON.stringify(figures)}`);
    stopNode();
  }, 600_000);

  it('installs with helm upgrade --install --wait: every pod Ready through /health, migrations applied once, helm test passes', async () => {
    const started = performance.now();
    helmRun(['upgrade', '--install', release, chart.dir, ...values, '--set', 'userService.image.tag=cluster-1,dataService.image.tag=cluster-1', '--wait', '--timeout', '10m']);
    figures.installSeconds = seconds(started);
    const pods = podReadiness();
    expect(pods).toHaveLength(3);
    for (const pod of pods) expect(pod).toMatch(/ True$/);
    const probe = kubectl(['get', 'deployment', `${release}-user-service`, '-o', 'jsonpath={.spec.template.spec.containers[0].readinessProbe.httpGet.path}']);
    expect(probe).toBe('/health/ready');
    const migrations = queryExternal(postgres, 'select count(*), count(distinct id) from schema_migrations');
    const [count, distinct] = migrations.split('|').map(Number);
    expect(count).toBeGreaterThan(0);
    expect(count).toBe(distinct);
    expect(helmTest()).toMatch(/Phase:\s+Succeeded/);
  }, 900_000);

  it('passes npm run e2e (port-forward to both services, the user flow)', () => {
    const output = run('npm', ['run', 'e2e'], { timeoutMs: 300_000, env: userEnv() });
    expect(output).toBeDefined();
  }, 300_000);

  it('upgrades to a new image tag and a changed config value under load with no failed request and no acknowledged write lost; generated secrets stay', async () => {
    const auth = secretData(`${release}-auth`);
    await freshToken();
    const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token, prefix: 'upgrade' });
    const started = performance.now();
    await helmAsync(['upgrade', release, chart.dir, ...values, '--set', 'userService.image.tag=cluster-2,dataService.image.tag=cluster-2,config.logLevel=debug', '--wait', '--timeout', '10m']);
    figures.upgradeRolloutSeconds = seconds(started);
    await pause(3000);
    const result = await traffic.stop();
    figures.upgrade = { requests: result.requests, failed: result.failures.length };
    expect(result.failures).toEqual([]);
    expect(deploymentImages()).toEqual(['data-service:cluster-2', 'user-service:cluster-2']);
    expect(secretData(`${release}-auth`)).toEqual(auth);
    const stored = new Set(queryExternal(postgres, "select name from users where name like 'upgrade-%'").split('\n'));
    expect(result.acknowledged.filter((name) => !stored.has(name))).toEqual([]);
  }, 900_000);

  it('rolls back under load the same way', async () => {
    await freshToken();
    const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token, prefix: 'rollback' });
    const started = performance.now();
    await helmAsync(['rollback', release, '1', '--wait', '--timeout', '10m']);
    figures.rollbackSeconds = seconds(started);
    await pause(3000);
    const result = await traffic.stop();
    figures.rollback = { requests: result.requests, failed: result.failures.length };
    expect(result.failures).toEqual([]);
    expect(deploymentImages()).toEqual(['data-service:cluster-1', 'user-service:cluster-1']);
    const stored = new Set(queryExternal(postgres, "select name from users where name like 'rollback-%'").split('\n'));
    expect(result.acknowledged.filter((name) => !stored.has(name))).toEqual([]);
  }, 900_000);

  it('loses no request when a data-service pod is deleted under load', async () => {
    await freshToken();
    const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token, prefix: 'podloss' });
    await pause(2000);
    const pod = kubectl(['get', 'pods', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=data-service`, '-o', 'jsonpath={.items[0].metadata.name}']).trim();
    expect(pod).not.toBe('');
    const started = performance.now();
    await kubectlAsync(['delete', 'pod', pod, '--wait=true']);
    await kubectlAsync(['rollout', 'status', `deployment/${release}-data-service`, '--timeout=180s']);
    figures.dataPodReplacedSeconds = seconds(started);
    const result = await traffic.stop();
    figures.dataPodLoss = { requests: result.requests, failed: result.failures.length };
    expect(result.failures).toEqual([]);
  }, 300_000);

  it('keeps reads answering from PostgreSQL while Redis is away', async () => {
    await freshToken();
    const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token, prefix: 'redisloss' });
    await pause(2000);
    await redis.stop();
    await pause(15_000);
    await redis.start();
    await pause(5000);
    const result = await traffic.stop();
    figures.redisLoss = { requests: result.requests, failed: result.failures.length, downSeconds: 15 };
    expect(result.failures).toEqual([]);
    const stored = new Set(queryExternal(postgres, "select name from users where name like 'redisloss-%'").split('\n'));
    expect(result.acknowledged.filter((name) => !stored.has(name))).toEqual([]);
  }, 300_000);

  it('turns readiness red and answers writes 503 with Retry-After while PostgreSQL is away, and recovers', async () => {
    const pod = kubectl(['get', 'pods', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=user-service`, '-o', 'jsonpath={.items[0].metadata.name} {.items[0].status.podIP}']).trim();
    const [podName, podIp] = pod.split(' ');
    await freshToken();
    const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token, prefix: 'pgloss', acceptRefusals: true });
    await postgres.stop();
    const stopped = performance.now();
    try {
      await eventually('user-service reports not ready', 90_000, async () => expect(await kubectlAsync(['get', 'pod', podName!, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('False'));
      figures.readinessRedSeconds = seconds(stopped);
      // Straight to the pod: with no ready pod the Service has no endpoint to answer at all.
      const write = await fetch(`http://${podIp}:8080/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ name: 'pgloss-direct', info: 'x' }), signal: AbortSignal.timeout(15_000) });
      expect(write.status).toBe(503);
      expect(Number(write.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(write.headers.get('content-type')).toContain('application/problem+json');
    } finally {
      await postgres.start();
    }
    const restarted = performance.now();
    await eventually('user-service is ready again', 120_000, async () => expect(await kubectlAsync(['get', 'pod', podName!, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('True'));
    figures.recoveredSeconds = seconds(restarted);
    await pause(3000);
    const result = await traffic.stop();
    figures.postgresLoss = { requests: result.requests, refused: result.refused.length, failedWithoutAnswer: result.failures.length };
    const stored = new Set(queryExternal(postgres, "select name from users where name like 'pgloss-%'").split('\n'));
    expect(result.acknowledged.filter((name) => !stored.has(name))).toEqual([]);
    expect(result.acknowledged.length).toBeGreaterThan(0);
    for (const refusal of result.refused) expect(Number(refusal.retryAfter)).toBeGreaterThan(0);
  }, 400_000);

  it('helm uninstall removes every object of the release (external servers keep their data)', async () => {
    helmRun(['uninstall', release, '--wait']);
    // Pods and ReplicaSets go with their Deployment through the garbage collector, a little later.
    await eventually('nothing of the release is left', 120_000, () => {
      expect(releaseObjects()).toBe('');
    });
    expect(Number(queryExternal(postgres, 'select count(*) from users'))).toBeGreaterThan(0);
  }, 300_000);
});
