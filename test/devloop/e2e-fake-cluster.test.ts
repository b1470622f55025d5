// `npm run e2e` end to end against a fake Kubernetes API server (no cluster can run on this
// machine) in front of the real services: the Deployments are the ones the chart renders with
// k8s-dev/values-dev.yaml, their statuses move as a controller's would, and port-forwards reach
// the real user-service and data-service on PostgreSQL and Redis.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { V1Deployment, V1DeploymentStatus, V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeDeployment, type FakeKubeApi, type FakePod } from './support/fake-kube-api.ts';
import { freePort } from '../../scripts/free-port.ts';
import { renderChart } from './support/render-chart.ts';
import { repoRoot } from './support/repo.ts';
import { startServices, type RunningServices } from './support/services.ts';
import { kubeconfigFor } from './support/kubeconfig.ts';

const run = promisify(execFile);
const namespace = 'default';
// The release's signing key, as the chart's Secret <release>-auth holds it; e2e reads it through the API.
const jwtSecret = randomBytes(32).toString('base64url');

const chartDeployments = renderChart({ release: 'users', valuesFiles: ['k8s-dev/values-dev.yaml'] }).filter(
  (object) => object.kind === 'Deployment',
) as unknown as V1Deployment[];
const chartDeployment = (name: string): V1Deployment => {
  const found = chartDeployments.find((deployment) => deployment.metadata?.name === name);
  if (!found) throw new Error(`the chart renders no Deployment ${name}`);
  return found;
};

const rolledOut = (replicas: number): { generation: number; status: V1DeploymentStatus } => ({
  generation: 2,
  status: {
    observedGeneration: 2,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
    conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
  },
});

/** A pod as the Deployment's ReplicaSet would create it: the template's labels, a generated name. */
function podOf(deployment: V1Deployment, suffix: string, ready: boolean, terminating = false): V1Pod {
  return {
    metadata: {
      name: `${deployment.metadata?.name}-${suffix}`,
      namespace,
      labels: deployment.spec?.template.metadata?.labels ?? {},
      ...(terminating ? { deletionTimestamp: new Date() } : {}),
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

interface E2eRun {
  code: number;
  stdout: string[];
  stderr: string[];
}

async function npmRunE2e(api: FakeKubeApi, env: NodeJS.ProcessEnv = {}): Promise<E2eRun> {
  const local = { user: await freePort(18330, 18339), data: await freePort(18340, 18349) };
  const result = await run('npm', ['run', '--silent', 'e2e'], {
    cwd: repoRoot,
    timeout: 60_000,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfigFor(api.url, 'fake'),
      E2E_POLL_MS: '50',
      E2E_TIMEOUT_SECONDS: '20',
      E2E_USER_LOCAL_PORT: String(local.user),
      E2E_DATA_LOCAL_PORT: String(local.data),
      ...env,
    },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  const lines = (text: string): string[] => text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('npm warn'));
  return { code: result.code, stdout: lines(result.stdout), stderr: lines(result.stderr) };
}

describe('npm run e2e against a (fake) cluster', () => {
  let services: RunningServices;
  let api: FakeKubeApi | undefined;
  let deadPort: number;

  beforeAll(async () => {
    services = await startServices(await freePort(18310, 18319), await freePort(18320, 18329), jwtSecret);
    // A port nothing listens on: the backend of pods e2e must never talk to.
    deadPort = await freePort(18350, 18359);
  }, 60_000);
  afterAll(async () => {
    await services?.stop();
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  const start = async (deployments: FakeDeployment[], pods: FakePod[], secrets: Record<string, Record<string, string>> = { 'users-auth': { 'jwt-secret': jwtSecret } }): Promise<FakeKubeApi> => {
    api = await startFakeKubeApi(await freePort(18300, 18309), namespace, deployments, pods, secrets);
    return api;
  };

  it('waits for both rollouts, forwards to a ready pod of each, runs the user flow and exits 0', async () => {
    const user = chartDeployment('users-user-service');
    const data = chartDeployment('users-data-service');
    expect(user.spec?.replicas).toBe(1);
    const fake = await start(
      [
        {
          deployment: user,
          statuses: [
            { generation: 2, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } },
            { generation: 2, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1 } },
            rolledOut(1),
          ],
        },
        { deployment: data, statuses: [rolledOut(1)] },
      ],
      [
        // Sorted by name the old, terminating pod comes first: it must be passed over.
        { pod: podOf(user, '5d9f7-aaaaa', true, true), backendPort: deadPort },
        { pod: podOf(user, '6c8b4-bbbbb', false), backendPort: deadPort },
        { pod: podOf(user, '6c8b4-ccccc', true), backendPort: services.userPort },
        { pod: podOf(data, '7f6d2-aaaaa', false), backendPort: deadPort },
        { pod: podOf(data, '7f6d2-bbbbb', true), backendPort: services.dataPort },
      ],
    );

    const result = await npmRunE2e(fake);

    expect(result.stderr).toEqual([
      'e2e: context "kind-fake" at ' + fake.url + ', Kubernetes v1.34.0-fake, namespace "default"',
      'e2e: deployment "users-user-service": waiting for the spec update to be observed',
      'e2e: deployment "users-user-service": 1 old replicas pending termination',
      'e2e: deployment "users-user-service" successfully rolled out',
      'e2e: deployment "users-data-service" successfully rolled out',
      'e2e: token: signed with the key in Secret "users-auth"',
    ]);
    expect(result.code).toBe(0);
    expect(fake.requests).toContain('GET /api/v1/namespaces/default/secrets/users-auth');
    expect(result.stdout[0]).toBe('e2e: passed');
    expect(result.stdout[1]).toMatch(/^ {2}users-user-service: pod users-user-service-6c8b4-ccccc:8080 via http:\/\/127\.0\.0\.1:183[34]\d$/);
    expect(result.stdout[2]).toMatch(/^ {2}users-data-service: pod users-data-service-7f6d2-bbbbb:8080 via http:\/\/127\.0\.0\.1:183[34]\d$/);
    expect(result.stdout.slice(3).map((line) => line.trim().replace(/\s+\d+ ms$/, ''))).toEqual([
      'register',
      'get (miss, then hit)',
      'update',
      'get after update',
      'delete',
      'get after delete',
      'total',
    ]);
    const forwards = fake.requests.filter((request) => request.startsWith('UPGRADE'));
    expect(forwards.length).toBeGreaterThan(0);
    expect(new Set(forwards)).toEqual(
      new Set([
        'UPGRADE /api/v1/namespaces/default/pods/users-user-service-6c8b4-ccccc/portforward?ports=8080',
        'UPGRADE /api/v1/namespaces/default/pods/users-data-service-7f6d2-bbbbb/portforward?ports=8080',
      ]),
    );
    // The pods were found with each Deployment's own selector, as the chart renders it.
    expect(fake.requests).toContain(
      'GET /api/v1/namespaces/default/pods?labelSelector=' +
        encodeURIComponent('app.kubernetes.io/name=user-service,app.kubernetes.io/instance=users').replace(/%20/g, '+'),
    );
  });

  it('takes E2E_TOKEN instead of the Secret, and a write refused for its token fails the run', async () => {
    const user = chartDeployment('users-user-service');
    const data = chartDeployment('users-data-service');
    const fake = await start(
      [
        { deployment: user, statuses: [rolledOut(1)] },
        { deployment: data, statuses: [rolledOut(1)] },
      ],
      [
        { pod: podOf(user, '6c8b4-ccccc', true), backendPort: services.userPort },
        { pod: podOf(data, '7f6d2-bbbbb', true), backendPort: services.dataPort },
      ],
      {},
    );
    const result = await npmRunE2e(fake, { E2E_TOKEN: 'not.a-valid.token' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('e2e: token: E2E_TOKEN');
    expect(result.stderr.at(-1)).toBe('e2e: FAILED: POST /register: expected 201, got 401');
    expect(fake.requests.filter((request) => request.includes('/secrets/'))).toEqual([]);
  });

  it('fails with exit 1 as soon as a Deployment exceeds its progress deadline', async () => {
    const fake = await start(
      [
        {
          deployment: chartDeployment('users-user-service'),
          statuses: [
            {
              generation: 2,
              status: {
                observedGeneration: 2,
                replicas: 2,
                updatedReplicas: 1,
                availableReplicas: 1,
                conditions: [
                  { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "users-user-service-6c8b4" has timed out progressing.' },
                ],
              },
            },
          ],
        },
      ],
      [],
    );
    const result = await npmRunE2e(fake);
    expect(result.code).toBe(1);
    expect(result.stderr.at(-1)).toBe(
      'e2e: FAILED: deployment "users-user-service" exceeded its progress deadline: ReplicaSet "users-user-service-6c8b4" has timed out progressing.',
    );
    expect(result.stdout).toEqual([]);
  });

  it('fails with a hint when the release has other names than e2e expects', async () => {
    const fake = await start([{ deployment: chartDeployment('users-user-service'), statuses: [rolledOut(1)] }], []);
    const result = await npmRunE2e(fake, { E2E_RELEASE: 'shop' });
    expect(result.code).toBe(1);
    expect(result.stderr.at(-1)).toBe(
      'e2e: FAILED: deployment "shop-user-service" not found in namespace "default" (set E2E_RELEASE / E2E_NAMESPACE to match your helm release)',
    );
  });

  it('times out with exit 1 when a rolled-out Deployment has no ready pod', async () => {
    const user = chartDeployment('users-user-service');
    const fake = await start([{ deployment: user, statuses: [rolledOut(1)] }], [{ pod: podOf(user, '6c8b4-bbbbb', false), backendPort: deadPort }]);
    const result = await npmRunE2e(fake, { E2E_TIMEOUT_SECONDS: '1' });
    expect(result.code).toBe(1);
    expect(result.stderr.at(-1)).toBe(
      'e2e: FAILED: timed out after 1 s: deployment "users-user-service" rolled out but none of its pods (app.kubernetes.io/name=user-service,app.kubernetes.io/instance=users) is ready',
    );
  });

  it('fails with exit 1 when the flow finds the wrong service behind a port-forward', async () => {
    const user = chartDeployment('users-user-service');
    const data = chartDeployment('users-data-service');
    // data-service's pod is wired to user-service, which has no GET /user/:name.
    const fake = await start(
      [
        { deployment: user, statuses: [rolledOut(1)] },
        { deployment: data, statuses: [rolledOut(1)] },
      ],
      [
        { pod: podOf(user, '6c8b4-ccccc', true), backendPort: services.userPort },
        { pod: podOf(data, '7f6d2-bbbbb', true), backendPort: services.userPort },
      ],
    );
    const result = await npmRunE2e(fake, { E2E_COHERENCE_TIMEOUT_MS: '500' });
    expect(result.code).toBe(1);
    // The flow registered through the real user-service, then never saw the user through "data-service".
    expect(result.stderr.at(-1)).toBe('e2e: FAILED: not observed within 500 ms');
    expect(result.stdout).toEqual([]);
  });
});
