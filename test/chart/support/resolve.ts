// Follows every reference our pods make (hosts, ports, Secret names and keys, users, databases)
// to the objects the real Bitnami subcharts rendered in the same release, and the NetworkPolicies
// that stand between them. Nothing here knows Bitnami's naming rules: it only reads rendered
// objects. What cannot run here is the cluster's NetworkPolicy enforcement; `admits` evaluates the
// rendered policies by the Kubernetes rules for ingress in one namespace (documented at
// https://kubernetes.io/docs/concepts/services-networking/network-policies/), and namespace
// selectors against the namespace labels the caller states.
import { find, ofKind, type KubeObject } from './helm.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: SecretRef };
}
export interface SecretRef {
  name: string;
  key: string;
}
interface ContainerSpec {
  name: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface Pod {
  owner: string;
  labels: Record<string, string>;
  containers: ContainerSpec[];
  initContainers: ContainerSpec[];
  volumes: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
}

export function podsOf(objects: KubeObject[]): Pod[] {
  return objects
    .filter((object) => object.kind === 'Deployment' || object.kind === 'StatefulSet')
    .map((object) => {
      const template = (object.spec as any).template;
      return {
        owner: `${object.kind}/${object.metadata.name}`,
        labels: template.metadata?.labels ?? {},
        containers: template.spec.containers ?? [],
        initContainers: template.spec.initContainers ?? [],
        volumes: template.spec.volumes ?? [],
      };
    });
}

const isOurs = (pod: Pod) => ['user-service', 'data-service'].includes(pod.labels['app.kubernetes.io/name'] ?? '');

/** Our pods: the Deployments of user-service and data-service. */
export const ourPods = (objects: KubeObject[]): Pod[] => podsOf(objects).filter(isOurs);

/** A container's environment as the kubelet builds it: ConfigMap first, then env (which wins). */
export function environment(objects: KubeObject[], container: ContainerSpec): Record<string, string | SecretRef> {
  const env: Record<string, string | SecretRef> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, (find(objects, 'ConfigMap', source.configMapRef.name).data as Record<string, string>) ?? {});
  }
  for (const variable of container.env ?? []) {
    env[variable.name] = variable.valueFrom?.secretKeyRef ?? variable.value ?? '';
  }
  return env;
}

function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpression = (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        return value !== undefined && expression.values!.includes(value);
      case 'NotIn':
        return value === undefined || !expression.values!.includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${expression.operator}`);
    }
  });
  return byLabel && byExpression;
}

/** The pod a Service sends port `port` to, and the container port it lands on; throws when none. */
export function resolveService(objects: KubeObject[], name: string, port: number): { pod: Pod; containerPort: number } {
  const service = find(objects, 'Service', name);
  const spec = service.spec as any;
  const servicePort = (spec.ports as { port: number; targetPort?: number | string }[]).find((candidate) => candidate.port === port);
  if (!servicePort) throw new Error(`Service ${name} has no port ${port} (it has ${spec.ports.map((p: any) => p.port).join(', ')})`);
  const pods = podsOf(objects).filter((pod) => selects({ matchLabels: spec.selector }, pod.labels));
  if (pods.length === 0) throw new Error(`Service ${name} selects no pod`);
  const target = servicePort.targetPort ?? servicePort.port;
  for (const pod of pods) {
    const match = pod.containers.flatMap((container) => container.ports ?? []).find((p) => (typeof target === 'number' ? p.containerPort === target : p.name === target));
    if (match) return { pod, containerPort: match.containerPort };
  }
  throw new Error(`Service ${name} port ${port} → targetPort ${target}, which no selected pod has`);
}

/** Where a server container reads a password from: the variable's secretKeyRef, or its *_FILE through a Secret volume. */
export function serverSecret(pod: Pod, container: ContainerSpec, variable: string): SecretRef | undefined {
  const env = container.env ?? [];
  const direct = env.find((candidate) => candidate.name === variable);
  if (direct?.valueFrom?.secretKeyRef) return direct.valueFrom.secretKeyRef;
  const file = env.find((candidate) => candidate.name === `${variable}_FILE`)?.value;
  if (!file) return undefined;
  const mount = (container.volumeMounts ?? []).find((candidate) => file.startsWith(candidate.mountPath.replace(/\/?$/, '/')));
  if (!mount) throw new Error(`${pod.owner}: ${variable}_FILE ${file} is on no mounted volume`);
  const volume = pod.volumes.find((candidate) => candidate.name === mount.name);
  if (!volume?.secret) throw new Error(`${pod.owner}: ${variable}_FILE ${file} is not on a Secret volume`);
  const path = file.slice(mount.mountPath.replace(/\/?$/, '/').length);
  const key = volume.secret.items ? volume.secret.items.find((item) => item.path === path)?.key : path;
  if (!key) throw new Error(`${pod.owner}: no key of Secret ${volume.secret.secretName} is mounted at ${path}`);
  return { name: volume.secret.secretName, key };
}

export interface Peer {
  labels: Record<string, string>;
  /** Labels of the peer's namespace; undefined for the release's own namespace. */
  namespaceLabels?: Record<string, string>;
}

/** Whether the rendered NetworkPolicies let `from` open a TCP connection to `to` on a container port. */
export function admits(objects: KubeObject[], from: Peer, to: Pod, containerPort: number, releaseNamespaceLabels: Record<string, string> = {}): boolean {
  const policies = ofKind(objects, 'NetworkPolicy')
    .map((policy) => policy.spec as any)
    .filter((spec) => selects(spec.podSelector ?? {}, to.labels) && (spec.policyTypes ?? ['Ingress']).includes('Ingress'));
  if (policies.length === 0) return true;
  const portName = to.containers.flatMap((container) => container.ports ?? []).find((port) => port.containerPort === containerPort)?.name;
  const peerMatches = (peer: any): boolean => {
    const namespaceLabels = from.namespaceLabels ?? releaseNamespaceLabels;
    if (peer.ipBlock) return false;
    if (peer.namespaceSelector) {
      if (!selects(peer.namespaceSelector, namespaceLabels)) return false;
      return peer.podSelector ? selects(peer.podSelector, from.labels) : true;
    }
    // A podSelector alone means pods of the policy's own namespace.
    if (from.namespaceLabels) return false;
    return selects(peer.podSelector ?? {}, from.labels);
  };
  return policies.some((spec) =>
    (spec.ingress ?? []).some((rule: any) => {
      const portOk = !rule.ports || rule.ports.some((port: any) => port.port === undefined || port.port === containerPort || (portName !== undefined && port.port === portName));
      const fromOk = !rule.from || rule.from.some(peerMatches);
      return portOk && fromOk;
    }),
  );
}
