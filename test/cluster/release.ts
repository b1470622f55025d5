// The chart's release on the local node as the cluster tests drive it: helm and kubectl on the
// node's context, the services' images built and loaded, and what the release's objects hold.

import { KubeConfig } from '@kubernetes/client-node';
import { obtainToken } from '../../e2e/auth.ts';
import { kubectl, kubectlPath, run, runAsync, settings } from './local-node.ts';

export const release = 'users';
const helm = process.env.HELM ?? 'helm';
const context = () => settings.KUBE_CONTEXT!;

export const helmRun = (args: string[], timeoutMs = 600_000) => run(helm, ['--kube-context', context(), ...args], { timeoutMs });
// While traffic runs, nothing may block the event loop, or the traffic stops with it.
export const helmAsync = (args: string[], timeoutMs = 600_000) => runAsync(helm, ['--kube-context', context(), ...args], { timeoutMs });
export const kubectlAsync = (args: string[], timeoutMs = 200_000) => runAsync(kubectlPath, ['--context', context(), ...args], { timeoutMs });

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const seconds = (since: number) => Math.round((performance.now() - since) / 100) / 10;

/** The environment of a command a user types: the node's own kubectl first on PATH. */
export const userEnv = (): NodeJS.ProcessEnv => ({ ...process.env, PATH: `${settings.KUBE_BIN}:${process.env.PATH}` });

/** `make images` and `make load` for each tag, as a user loads images into the node. */
export function buildAndLoadImages(tags: string[]): void {
  for (const tag of tags) {
    run('make', ['images', `TAG=${tag}`], { timeoutMs: 1_200_000 });
    run('make', ['load', `TAG=${tag}`], { timeoutMs: 300_000, env: userEnv() });
  }
}

/** Imports image archives (docker save) straight into the containerd namespace the kubelet uses. */
export function importImageArchive(archive: string): void {
  run(`${settings.CONTAINERD_BIN}/ctr`, ['--address', settings.CONTAINERD_SOCKET!, '--namespace', 'k8s.io', 'images', 'import', archive], { timeoutMs: 600_000 });
}

export function deploymentImages(): string[] {
  return kubectl(['get', 'deployments', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'jsonpath={range .items[*]}{.spec.template.spec.containers[0].image}{"\\n"}{end}']).trim().split('\n').sort();
}

export function clusterUrl(service: string): string {
  return `http://${kubectl(['get', 'service', `${release}-${service}`, '-o', 'jsonpath={.spec.clusterIP}']).trim()}:80`;
}

export function secretData(name: string): Record<string, string> {
  return JSON.parse(kubectl(['get', 'secret', name, '-o', 'jsonpath={.data}']));
}

/** Each pod of the release with its Ready condition, e.g. "users-postgresql-0 True". */
export function podReadiness(): string[] {
  return kubectl(['get', 'pods', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'])
    .trim()
    .split('\n')
    .filter(Boolean);
}

export function podOf(component: string): { name: string; ip: string } {
  const [name = '', ip = ''] = kubectl(['get', 'pods', '-l', `app.kubernetes.io/instance=${release},app.kubernetes.io/component=${component}`, '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[0].metadata.name} {.items[0].status.podIP}']).trim().split(' ');
  return { name, ip };
}

/** Whatever of the release is still there, by its instance label (Pods and ReplicaSets included). */
export function releaseObjects(): string {
  return kubectl(['get', 'all,configmap,secret,serviceaccount,poddisruptionbudget,networkpolicy,role,rolebinding,pvc,horizontalpodautoscaler', '-l', `app.kubernetes.io/instance=${release}`, '-o', 'name']).trim();
}

/** helm test, with the failed test pod's log: helm prints none for a pod that failed. */
export function helmTest(): string {
  try {
    return helmRun(['test', release, '--logs'], 300_000);
  } catch (error) {
    throw new Error(`helm test failed: ${(error as Error).message}\n${kubectl(['logs', `${release}-test-user-flow`, '--all-containers'])}`);
  }
}

/** A write token of ten minutes, signed with the key in the release's Secret, as npm run e2e signs it. */
export async function releaseToken(): Promise<string | undefined> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  kubeConfig.setCurrentContext(context());
  return (await obtainToken(kubeConfig, 'default', release, {})).token;
}
