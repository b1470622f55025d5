// Waiting for the services' Deployments to roll out and choosing a ready pod of each, over the API.

import { ApiException, AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { deploymentRolloutStatus, httpContainerPort, labelSelectorQuery, pickReadyPod } from './rollout.ts';

export interface RolledOut {
  deployment: V1Deployment;
  pod: V1Pod;
  podName: string;
  port: number;
}

export interface WaitOptions {
  namespace: string;
  timeoutMs: number;
  pollMs: number;
  /** Called whenever a Deployment's status message changes, so a slow rollout is not silent. */
  onProgress: (message: string) => void;
}

export async function waitForRollout(kubeConfig: KubeConfig, name: string, options: WaitOptions): Promise<RolledOut> {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const deadline = Date.now() + options.timeoutMs;
  let lastMessage = '';
  const report = (message: string): void => {
    if (message !== lastMessage) options.onProgress(message);
    lastMessage = message;
  };

  for (;;) {
    const deployment = await readDeployment(apps, name, options.namespace);
    const status = deploymentRolloutStatus(deployment);
    report(status.message);
    if (status.state === 'failed') throw new Error(status.message);

    if (status.state === 'done') {
      const labelSelector = labelSelectorQuery(deployment.spec?.selector);
      const pods = await core.listNamespacedPod({ namespace: options.namespace, labelSelector });
      const pod = pickReadyPod(pods.items);
      const port = httpContainerPort(deployment);
      if (port === undefined) throw new Error(`deployment "${name}" declares no container port to forward to`);
      // Rolled out yet no ready pod: a pod just went unready; keep polling until the deadline.
      if (pod?.metadata?.name) return { deployment, pod, podName: pod.metadata.name, port };
      report(`deployment "${name}" rolled out but none of its pods (${labelSelector}) is ready`);
    }

    if (Date.now() + options.pollMs > deadline) {
      throw new Error(`timed out after ${Math.round(options.timeoutMs / 1000)} s: ${lastMessage}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

async function readDeployment(apps: AppsV1Api, name: string, namespace: string): Promise<V1Deployment> {
  try {
    return await apps.readNamespacedDeployment({ name, namespace });
  } catch (error) {
    // The usual cause is a release installed under another name or namespace than e2e assumes.
    if (error instanceof ApiException && error.code === 404) {
      throw new Error(`deployment "${name}" not found in namespace "${namespace}" (set E2E_RELEASE / E2E_NAMESPACE to match your helm release)`);
    }
    throw error;
  }
}
