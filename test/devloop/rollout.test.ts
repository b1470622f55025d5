// kubectl's `rollout status` rules, as e2e applies them, over Deployment and Pod objects.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { deploymentRolloutStatus, httpContainerPort, isPodReady, labelSelectorQuery, pickReadyPod } from '../../e2e/rollout.ts';

function deployment(spec: { generation?: number; replicas?: number }, status: V1Deployment['status']): V1Deployment {
  return {
    metadata: { name: 'users-user-service', generation: spec.generation ?? 2 },
    spec: {
      ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
      selector: { matchLabels: { 'app.kubernetes.io/name': 'user-service' } },
      template: { spec: { containers: [{ name: 'user-service', ports: [{ name: 'http', containerPort: 8080 }] }] } },
    },
    status,
  };
}

const settled = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };

describe('deploymentRolloutStatus', () => {
  it('is done when the latest spec is observed and every replica is updated and available', () => {
    expect(deploymentRolloutStatus(deployment({ replicas: 3 }, settled))).toEqual({
      state: 'done',
      message: 'deployment "users-user-service" successfully rolled out',
    });
  });

  it('waits while the controller has not observed the latest generation, whatever the counts say', () => {
    const status = deploymentRolloutStatus(deployment({ replicas: 3, generation: 3 }, settled));
    expect(status.state).toBe('waiting');
    expect(status.message).toContain('spec update to be observed');
  });

  it('waits while fewer replicas than desired run the new template', () => {
    const status = deploymentRolloutStatus(deployment({ replicas: 3 }, { ...settled, updatedReplicas: 1 }));
    expect(status).toEqual({ state: 'waiting', message: 'deployment "users-user-service": 1 of 3 new replicas updated' });
  });

  it('waits while old replicas are still terminating', () => {
    const status = deploymentRolloutStatus(deployment({ replicas: 3 }, { ...settled, replicas: 4 }));
    expect(status).toEqual({ state: 'waiting', message: 'deployment "users-user-service": 1 old replicas pending termination' });
  });

  it('waits while updated replicas are not yet available', () => {
    const status = deploymentRolloutStatus(deployment({ replicas: 3 }, { ...settled, availableReplicas: 2 }));
    expect(status).toEqual({ state: 'waiting', message: 'deployment "users-user-service": 2 of 3 updated replicas available' });
  });

  it('fails once the Progressing condition says the progress deadline was exceeded', () => {
    const status = deploymentRolloutStatus(
      deployment(
        { replicas: 1 },
        {
          observedGeneration: 2,
          replicas: 2,
          updatedReplicas: 1,
          availableReplicas: 0,
          conditions: [
            { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
            { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "users-user-service-5d9" has timed out progressing.' },
          ],
        },
      ),
    );
    expect(status).toEqual({
      state: 'failed',
      message: 'deployment "users-user-service" exceeded its progress deadline: ReplicaSet "users-user-service-5d9" has timed out progressing.',
    });
  });

  it('does not fail on a deadline reported for an older generation (kubectl checks it only once observed)', () => {
    const status = deploymentRolloutStatus(
      deployment({ replicas: 1, generation: 3 }, { ...settled, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }),
    );
    expect(status.state).toBe('waiting');
  });

  it('keeps waiting on a Progressing condition that is merely still progressing', () => {
    const status = deploymentRolloutStatus(
      deployment({ replicas: 2 }, { ...settled, replicas: 2, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }] }),
    );
    expect(status.state).toBe('waiting');
  });

  it('like kubectl, skips the updated-replicas check when spec.replicas is unset', () => {
    expect(deploymentRolloutStatus(deployment({}, { observedGeneration: 2, replicas: 0, updatedReplicas: 0, availableReplicas: 0 })).state).toBe('done');
  });

  it('treats a Deployment without status as not yet observed', () => {
    expect(deploymentRolloutStatus(deployment({ replicas: 1 }, undefined)).state).toBe('waiting');
  });

  it('is done for a Deployment scaled to zero once the old replicas are gone', () => {
    expect(deploymentRolloutStatus(deployment({ replicas: 0 }, { observedGeneration: 2 })).state).toBe('done');
    expect(deploymentRolloutStatus(deployment({ replicas: 0 }, { observedGeneration: 2, replicas: 1 })).state).toBe('waiting');
  });
});

function pod(name: string, ready: 'True' | 'False' | undefined, deleting = false): V1Pod {
  return {
    metadata: { name, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: { conditions: ready === undefined ? [] : [{ type: 'Ready', status: ready }] },
  };
}

describe('choosing a pod to forward to', () => {
  it('takes only pods whose Ready condition is True', () => {
    expect(isPodReady(pod('a', 'True'))).toBe(true);
    expect(isPodReady(pod('b', 'False'))).toBe(false);
    expect(isPodReady(pod('c', undefined))).toBe(false);
    expect(isPodReady({ metadata: { name: 'd' } })).toBe(false);
  });

  it('never takes a terminating pod, even while it still reports Ready', () => {
    expect(isPodReady(pod('a', 'True', true))).toBe(false);
  });

  it('picks the first ready pod by name so repeated runs agree', () => {
    const picked = pickReadyPod([pod('users-user-service-c', 'True'), pod('users-user-service-a', 'False'), pod('users-user-service-b', 'True')]);
    expect(picked?.metadata?.name).toBe('users-user-service-b');
  });

  it('finds nothing when no pod is ready', () => {
    expect(pickReadyPod([pod('a', 'False'), pod('b', 'True', true)])).toBeUndefined();
    expect(pickReadyPod([])).toBeUndefined();
  });
});

describe('labelSelectorQuery', () => {
  it('joins matchLabels and every matchExpressions operator the API accepts', () => {
    expect(
      labelSelectorQuery({
        matchLabels: { 'app.kubernetes.io/name': 'user-service', 'app.kubernetes.io/instance': 'users' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['api', 'web'] },
          { key: 'track', operator: 'NotIn', values: ['canary'] },
          { key: 'owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('app.kubernetes.io/name=user-service,app.kubernetes.io/instance=users,tier in (api,web),track notin (canary),owner,!legacy');
  });

  it('refuses an empty selector instead of listing every pod in the namespace', () => {
    expect(() => labelSelectorQuery({})).toThrow(/empty selector/);
    expect(() => labelSelectorQuery(undefined)).toThrow(/empty selector/);
  });
});

describe('httpContainerPort', () => {
  it('prefers the port named http, else the first declared port', () => {
    const withPorts = (ports: { name?: string; containerPort: number }[]): V1Deployment => ({
      spec: { selector: {}, template: { spec: { containers: [{ name: 'app', ports: [ports[0]!] }, { name: 'sidecar', ports: ports.slice(1) }] } } },
    });
    expect(httpContainerPort(withPorts([{ name: 'metrics', containerPort: 9090 }, { name: 'http', containerPort: 8080 }]))).toBe(8080);
    expect(httpContainerPort(withPorts([{ containerPort: 3000 }]))).toBe(3000);
    expect(httpContainerPort({ spec: { selector: {}, template: { spec: { containers: [{ name: 'app' }] } } } })).toBeUndefined();
  });
});
