// The product on the local node with the Bitnami subcharts, as a user installs it: the development
// values by the command docs/kubernetes.md gives, helm test, the README's walkthrough through
// `make port-forward` with the token line of docs/kubernetes.md, npm run e2e, an upgrade and a
// rollback under load; then the default values and the production values, with a PostgreSQL pod,
// the Redis pod and a data-service pod taken away under load; and helm uninstall after each.
//
// It needs the subcharts' source in helm/charts/ (no chart registry is reachable here, and none is
// committed) and Docker or Podman for the images. The PostgreSQL and Redis containers run
// STAND-INS for the Bitnami images, which cannot be pulled without a registry: Debian's servers
// under the references the subcharts render (k8s-dev/standin-images). On a cluster with registry
// access the real images are pulled and nothing in the chart changes. The node has no volume
// provisioner, so the test provides the PersistentVolumes, as an administrator of such a cluster
// would (a hostPath folder each, owned by the uid the Bitnami containers run as).

import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockUnder, runWalkthrough } from '../support/walkthrough.ts';
import { cannotRun, eventually, kubectl, root, run, runScript, settings, stopNode } from './local-node.ts';
import { buildAndLoadImages, clusterUrl, deploymentImages, helmAsync, helmRun, helmTest, importImageArchive, kubectlAsync, pause, podOf, podReadiness, release, releaseObjects, releaseToken, seconds, secretData, userEnv } from './release.ts';
import { startTraffic } from './traffic.ts';

const nodeReason = cannotRun();
if (nodeReason && process.env.CI) throw new Error(`CI must run the local node, but ${nodeReason}`);

function hasDocker(): boolean {
  try {
    run('docker', ['version', '--format', '{{.Client.Version}}']);
    return true;
  } catch {
    return false;
  }
}

const reason =
  nodeReason ??
  (['postgresql', 'redis'].every((name) => existsSync(path.join(root, 'helm/charts', name, 'Chart.yaml')))
    ? hasDocker()
      ? undefined
      : 'no docker on PATH to build the images'
    : 'the Bitnami subcharts are not in helm/charts/ (make deps, or their public source): the subchart path needs them');
if (reason) console.log(`skipped: ${reason}`);

const figures: Record<string, unknown> = {};
const devValues = ['--values', 'k8s-dev/values-dev.yaml'];
const prodValues = ['--values', 'helm/values-prod.yaml'];
const postgresPod = `${release}-postgresql-0`;
const postgresClaim = `data-${postgresPod}`;
const volumes = path.join(settings.LOCAL_NODE_STATE!, 'test-volumes');
// The uid and gid the Bitnami containers run as (the subcharts' podSecurityContext.fsGroup).
const bitnamiUid = 1001;

/** SQL in the release's PostgreSQL pod, as the application user, through the pod's own client. */
function psql(sql: string): string {
  const script = 'PGPASSWORD="${POSTGRES_PASSWORD:-$(cat "$POSTGRES_PASSWORD_FILE")}" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DATABASE" -tAc "$0"';
  return kubectl(['exec', postgresPod, '-c', 'postgresql', '--', 'bash', '-c', script, sql]).trim();
}

async function psqlAsync(sql: string): Promise<string> {
  const script = 'PGPASSWORD="${POSTGRES_PASSWORD:-$(cat "$POSTGRES_PASSWORD_FILE")}" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DATABASE" -tAc "$0"';
  return (await kubectlAsync(['exec', postgresPod, '-c', 'postgresql', '--', 'bash', '-c', script, sql])).trim();
}

/** A PersistentVolume for one claim of the release, bound to it by name: a folder on the node. */
function provideVolume(claim: string, size: string): void {
  const folder = path.join(volumes, claim);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  chownSync(folder, bitnamiUid, bitnamiUid);
  const volume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `test-${claim}` },
    spec: {
      capacity: { storage: size },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Retain',
      storageClassName: '',
      claimRef: { namespace: 'default', name: claim },
      hostPath: { path: folder, type: 'Directory' },
    },
  };
  kubectl(['apply', '-f', '-'], { input: JSON.stringify(volume) });
}

function removeVolume(claim: string): void {
  kubectl(['delete', 'pvc', claim, '--ignore-not-found', '--wait=true']);
  kubectl(['delete', 'pv', `test-${claim}`, '--ignore-not-found', '--wait=true']);
  rmSync(path.join(volumes, claim), { recursive: true, force: true });
}

/** helm uninstall; then nothing of the release is left but the claims named. */
async function uninstallLeaving(claims: string[]): Promise<void> {
  helmRun(['uninstall', release, '--wait']);
  // Pods and ReplicaSets go with their Deployment through the garbage collector, a little later.
  // The StatefulSet controller gives its claims the pods' labels: they are checked by name below.
  const unclaimed = () => releaseObjects().split('\n').filter((object) => object && !object.startsWith('persistentvolumeclaim/'));
  await eventually('nothing labelled with the release is left', 120_000, () => expect(unclaimed()).toEqual([]));
  const left = kubectl(['get', 'pvc', '-o', 'name']).trim().split('\n').filter(Boolean);
  expect(left).toEqual(claims.map((claim) => `persistentvolumeclaim/${claim}`));
}

function acknowledgedButMissing(acknowledged: string[], stored: string): string[] {
  const names = new Set(stored.split('\n'));
  return acknowledged.filter((name) => !names.has(name));
}

describe.skipIf(reason)('the product on the local node with the Bitnami subcharts (stand-in images)', () => {
  let forward: ChildProcess | undefined;

  beforeAll(async () => {
    const up = runScript('k8s-dev/local-node/up.sh', 50 * 60_000);
    if (up.status !== 0) throw new Error(`make cluster-up failed: ${up.stderr.trim().split('\n').pop()}`);
    let started = performance.now();
    // 0.1.0 is the chart's appVersion, the tag it deploys when none is set.
    buildAndLoadImages(['0.1.0', 'cluster-2']);
    figures.imagesBuiltAndLoadedSeconds = seconds(started);
    started = performance.now();
    run('make', ['standin-images'], { timeoutMs: 1_800_000 });
    for (const name of ['postgresql', 'redis']) importImageArchive(path.join(root, 'k8s-dev/standin-images/out', `${name}.tar`));
    figures.standinImagesSeconds = seconds(started);
    // A claim an interrupted run left behind would hold the old data and passwords.
    removeVolume(postgresClaim);
  }, 55 * 60_000);

  const stopForward = () => {
    // make, the script and both kubectl processes: the whole group.
    if (forward?.pid && forward.exitCode === null) process.kill(-forward.pid, 'SIGTERM');
    forward = undefined;
  };

  afterAll(() => {
    stopForward();
    try {
      helmRun(['uninstall', release, '--wait', '--ignore-not-found']);
    } catch {
      // Already gone, or the cluster is: cluster-down removes everything anyway.
    }
    removeVolume(postgresClaim);
    rmSync(volumes, { recursive: true, force: true });
    console.log(`figures: ${JSON.stringify(figures)}`);
    stopNode();
  }, 600_000);

  describe('the development values (k8s-dev/values-dev.yaml)', () => {
    it('installs by the documented command: every pod Ready through its probes, migrations applied once, helm test passes', () => {
      const started = performance.now();
      helmRun(['upgrade', '--install', release, 'helm', ...devValues, '--wait', '--timeout', '10m']);
      figures.devInstallSeconds = seconds(started);
      const pods = podReadiness();
      // A Deployment's pod is named <deployment>-<template hash>-<suffix>; a StatefulSet's <set>-<ordinal>.
      expect(pods.map((pod) => pod.split(' ')[0]!.replace(/-[a-z0-9]{6,10}-[a-z0-9]{5}$/, '')).sort()).toEqual([
        `${release}-data-service`,
        `${release}-postgresql-0`,
        `${release}-redis-master-0`,
        `${release}-user-service`,
      ]);
      for (const pod of pods) expect(pod).toMatch(/ True$/);
      const [count, distinct] = psql('select count(*), count(distinct id) from schema_migrations').split('|').map(Number);
      expect(count).toBeGreaterThan(0);
      expect(count).toBe(distinct);
      expect(helmTest()).toMatch(/Phase:\s+Succeeded/);
    }, 900_000);

    it("answers the README's walkthrough through make port-forward, with the token line of docs/kubernetes.md", async () => {
      forward = spawn('make', ['port-forward'], { cwd: root, env: userEnv(), stdio: 'ignore', detached: true });
      await eventually('both forwards answer', 60_000, async () => {
        for (const port of [5000, 5001]) expect((await fetch(`http://localhost:${port}/health`)).status).toBe(200);
      });
      const tokenLine = blockUnder('docs/kubernetes.md', '3. curl').text;
      const token = run('bash', ['-c', `${tokenLine}\nprintf %s "$TOKEN"`], { env: userEnv() });
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const broken = await runWalkthrough(blockUnder('README.md', 'Try it'), { PATH: userEnv().PATH, TOKEN: token });
      stopForward();
      expect(broken).toEqual([]);
    }, 300_000);

    it('passes npm run e2e', () => {
      expect(run('npm', ['run', 'e2e'], { timeoutMs: 300_000, env: userEnv() })).toMatch(/e2e: passed/);
    }, 300_000);

    it('upgrades to a new image tag and a changed config value under load with no failed request and no acknowledged write lost; generated secrets stay', async () => {
      const secrets = [`${release}-auth`, `${release}-postgresql`, `${release}-redis`].map(secretData);
      const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token: await releaseToken(), prefix: 'upgrade' });
      const started = performance.now();
      await helmAsync(['upgrade', release, 'helm', ...devValues, '--set', 'userService.image.tag=cluster-2,dataService.image.tag=cluster-2,config.logLevel=debug', '--wait', '--timeout', '10m']);
      figures.devUpgradeSeconds = seconds(started);
      await pause(3000);
      const result = await traffic.stop();
      figures.devUpgrade = { requests: result.requests, failed: result.failures.length };
      expect(result.failures).toEqual([]);
      expect(deploymentImages()).toEqual(['data-service:cluster-2', 'user-service:cluster-2']);
      expect([`${release}-auth`, `${release}-postgresql`, `${release}-redis`].map(secretData)).toEqual(secrets);
      expect(acknowledgedButMissing(result.acknowledged, psql("select name from users where name like 'upgrade-%'"))).toEqual([]);
    }, 900_000);

    it('rolls back under load the same way', async () => {
      const traffic = startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token: await releaseToken(), prefix: 'rollback' });
      const started = performance.now();
      await helmAsync(['rollback', release, '1', '--wait', '--timeout', '10m']);
      figures.devRollbackSeconds = seconds(started);
      await pause(3000);
      const result = await traffic.stop();
      figures.devRollback = { requests: result.requests, failed: result.failures.length };
      expect(result.failures).toEqual([]);
      expect(deploymentImages()).toEqual(['data-service:0.1.0', 'user-service:0.1.0']);
      expect(acknowledgedButMissing(result.acknowledged, psql("select name from users where name like 'rollback-%'"))).toEqual([]);
    }, 900_000);

    it('helm uninstall leaves nothing of the release (the development values use no volumes)', async () => {
      await uninstallLeaving([]);
    }, 300_000);
  });

  describe('the default values', () => {
    it('installs with no values file, passes helm test, and helm uninstall leaves only the PostgreSQL claim', async () => {
      provideVolume(postgresClaim, '8Gi');
      const started = performance.now();
      helmRun(['upgrade', '--install', release, 'helm', '--wait', '--timeout', '10m']);
      figures.defaultInstallSeconds = seconds(started);
      for (const pod of podReadiness()) expect(pod).toMatch(/ True$/);
      expect(kubectl(['get', 'pvc', postgresClaim, '-o', 'jsonpath={.status.phase}'])).toBe('Bound');
      expect(helmTest()).toMatch(/Phase:\s+Succeeded/);
      await uninstallLeaving([postgresClaim]);
      removeVolume(postgresClaim);
    }, 900_000);
  });

  describe('the production values (helm/values-prod.yaml)', () => {
    let token: string | undefined;
    const traffic = (prefix: string, acceptRefusals = false) =>
      startTraffic({ userUrl: clusterUrl('user-service'), dataUrl: clusterUrl('data-service'), token, prefix, acceptRefusals });

    it('installs, with two replicas of each service Ready, and passes helm test', async () => {
      provideVolume(postgresClaim, '20Gi');
      const started = performance.now();
      helmRun(['upgrade', '--install', release, 'helm', ...prodValues, '--wait', '--timeout', '10m']);
      figures.prodInstallSeconds = seconds(started);
      const pods = podReadiness();
      for (const pod of pods) expect(pod).toMatch(/ True$/);
      expect(pods.filter((pod) => pod.includes('-user-service-'))).toHaveLength(2);
      expect(pods.filter((pod) => pod.includes('-data-service-'))).toHaveLength(2);
      expect(helmTest()).toMatch(/Phase:\s+Succeeded/);
      token = await releaseToken();
    }, 900_000);

    it('loses no request when a data-service pod is deleted under load', async () => {
      const load = traffic('podloss');
      await pause(2000);
      const started = performance.now();
      await kubectlAsync(['delete', 'pod', podOf('data-service').name, '--wait=true']);
      await kubectlAsync(['rollout', 'status', `deployment/${release}-data-service`, '--timeout=180s']);
      figures.prodDataPodReplacedSeconds = seconds(started);
      const result = await load.stop();
      figures.prodDataPodLoss = { requests: result.requests, failed: result.failures.length };
      expect(result.failures).toEqual([]);
    }, 300_000);

    it('keeps reads and writes answering while the Redis pod is deleted and replaced', async () => {
      const load = traffic('redisloss');
      await pause(2000);
      const started = performance.now();
      await kubectlAsync(['delete', 'pod', `${release}-redis-master-0`, '--wait=true']);
      await kubectlAsync(['rollout', 'status', `statefulset/${release}-redis-master`, '--timeout=180s']);
      figures.prodRedisReplacedSeconds = seconds(started);
      await pause(5000);
      const result = await load.stop();
      figures.prodRedisLoss = { requests: result.requests, failed: result.failures.length };
      expect(result.failures).toEqual([]);
      expect(acknowledgedButMissing(result.acknowledged, await psqlAsync("select name from users where name like 'redisloss-%'"))).toEqual([]);
    }, 300_000);

    it('turns readiness red and answers writes 503 with Retry-After while the PostgreSQL pod is away, and recovers with every acknowledged write kept', async () => {
      const user = podOf('user-service');
      const load = traffic('pgloss', true);
      await pause(2000);
      const deleted = performance.now();
      // Not --wait: the checks below run while the pod is gone and while its replacement starts.
      await kubectlAsync(['delete', 'pod', postgresPod, '--wait=false']);
      await eventually('user-service reports not ready', 90_000, async () => expect(await kubectlAsync(['get', 'pod', user.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('False'));
      figures.prodReadinessRedSeconds = seconds(deleted);
      // Straight to the pod: with no ready pod the Service has no endpoint to answer at all.
      const write = await fetch(`http://${user.ip}:8080/register`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ name: 'pgloss-direct', info: 'x' }), signal: AbortSignal.timeout(15_000) });
      expect(write.status).toBe(503);
      expect(Number(write.headers.get('retry-after'))).toBeGreaterThan(0);
      await eventually('user-service is ready again', 180_000, async () => expect(await kubectlAsync(['get', 'pod', user.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).toBe('True'));
      figures.prodRecoveredSeconds = seconds(deleted);
      await pause(3000);
      const result = await load.stop();
      figures.prodPostgresLoss = { requests: result.requests, refused: result.refused.length, failedWithoutAnswer: result.failures.length };
      expect(result.acknowledged.length).toBeGreaterThan(0);
      expect(acknowledgedButMissing(result.acknowledged, await psqlAsync("select name from users where name like 'pgloss-%'"))).toEqual([]);
      for (const refusal of result.refused) expect(Number(refusal.retryAfter)).toBeGreaterThan(0);
    }, 400_000);

    it('helm uninstall leaves only the PostgreSQL claim, with the data on it', async () => {
      await uninstallLeaving([postgresClaim]);
      expect(kubectl(['get', 'pvc', postgresClaim, '-o', 'jsonpath={.status.phase}'])).toBe('Bound');
    }, 300_000);
  });
});
