// When is a Deployment rolled out, and which pod may we talk to? Pure functions over API objects,
// so the rules are tested without a cluster. They follow `kubectl rollout status` exactly, so
// `npm run e2e` and kubectl never disagree about whether a rollout finished.

import type { V1Deployment, V1LabelSelector, V1Pod } from '@kubernetes/client-node';

export type RolloutStatus =
  | { state: 'done'; message: string }
  | { state: 'waiting'; message: string }
  | { state: 'failed'; message: string };

/** The controller's reason on the Progressing condition once spec.progressDeadlineSeconds has passed. */
export const PROGRESS_DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

export function deploymentRolloutStatus(deployment: V1Deployment): RolloutStatus {
  const name = deployment.metadata?.name ?? '(unnamed)';
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};

  // Until the controller has seen the latest spec, every other status field describes the old one.
  if (generation > (status.observedGeneration ?? 0)) {
    return { state: 'waiting', message: `deployment "${name}": waiting for the spec update to be observed` };
  }

  const progressing = status.conditions?.find((condition) => condition.type === 'Progressing');
  if (progressing?.reason === PROGRESS_DEADLINE_EXCEEDED) {
    return {
      state: 'failed',
      message: `deployment "${name}" exceeded its progress deadline${progressing.message ? `: ${progressing.message}` : ''}`,
    };
  }

  const desired = deployment.spec?.replicas;
  const updated = status.updatedReplicas ?? 0;
  // kubectl skips this check when spec.replicas is unset (the API server always defaults it).
  if (desired !== undefined && updated < desired) {
    return { state: 'waiting', message: `deployment "${name}": ${updated} of ${desired} new replicas updated` };
  }

  const total = status.replicas ?? 0;
  if (total > updated) {
    return { state: 'waiting', message: `deployment "${name}": ${total - updated} old replicas pending termination` };
  }

  const available = status.availableReplicas ?? 0;
  if (available < updated) {
    return { state: 'waiting', message: `deployment "${name}": ${available} of ${updated} updated replicas available` };
  }

  return { state: 'done', message: `deployment "${name}" successfully rolled out` };
}

export function isPodReady(pod: V1Pod): boolean {
  // A terminating pod can still report Ready for its grace period; traffic must not start there.
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ?? false;
}

/** The first ready pod by name, so repeated runs pick the same one when nothing changed. */
export function pickReadyPod(pods: readonly V1Pod[]): V1Pod | undefined {
  return pods
    .filter(isPodReady)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))[0];
}

/** Renders a Deployment's selector in the API's label-selector query syntax. */
export function labelSelectorQuery(selector: V1LabelSelector | undefined): string {
  const terms = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  for (const { key, operator, values = [] } of selector?.matchExpressions ?? []) {
    switch (operator) {
      case 'In':
        terms.push(`${key} in (${values.join(',')})`);
        break;
      case 'NotIn':
        terms.push(`${key} notin (${values.join(',')})`);
        break;
      case 'Exists':
        terms.push(key);
        break;
      case 'DoesNotExist':
        terms.push(`!${key}`);
        break;
      default:
        throw new Error(`unsupported label selector operator "${operator}" on key "${key}"`);
    }
  }
  // An empty selector would match every pod in the namespace: never what a Deployment means.
  if (terms.length === 0) throw new Error('the Deployment has an empty selector');
  return terms.join(',');
}

/** The container port to forward to: the one named "http", else the first declared one. */
export function httpContainerPort(deployment: V1Deployment): number | undefined {
  const ports = deployment.spec?.template.spec?.containers.flatMap((container) => container.ports ?? []) ?? [];
  return (ports.find((port) => port.name === 'http') ?? ports[0])?.containerPort;
}
