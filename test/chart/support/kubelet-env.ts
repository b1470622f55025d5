// The environment the kubelet gives a container, computed from rendered manifests. There is no
// kubelet here, so these are its documented rules, kept to what our manifests can use:
// envFrom first (later sources win), then env in order (later entries win); $(VAR) in a value
// expands to a variable defined before it, $$(VAR) is a literal; a missing ConfigMap/Secret or key
// stops the container (CreateContainerConfigError) unless the reference is optional.
import type { KubeObject } from './helm.ts';

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: { prefix?: string; configMapRef?: ObjectRef; secretRef?: ObjectRef }[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
  initialDelaySeconds?: number;
}

interface ObjectRef {
  name: string;
  optional?: boolean;
}

interface KeyRef extends ObjectRef {
  key: string;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
    fieldRef?: { fieldPath: string };
  };
}

/** What the cluster holds besides the rendered objects, e.g. a Secret created by an operator. */
export interface ClusterState {
  configMaps: Map<string, Record<string, string>>;
  /** Secret values, already decoded. */
  secrets: Map<string, Record<string, string>>;
  pod: { name: string; namespace: string };
}

/** Collects rendered ConfigMaps and Secrets (data is base64, stringData plain) plus extra Secrets. */
export function clusterState(
  objects: KubeObject[],
  pod: ClusterState['pod'],
  extraSecrets: Record<string, Record<string, string>> = {},
): ClusterState {
  const configMaps = new Map<string, Record<string, string>>();
  const secrets = new Map<string, Record<string, string>>(Object.entries(extraSecrets));
  for (const object of objects) {
    if (object.kind === 'ConfigMap') configMaps.set(object.metadata.name, { ...(object.data as Record<string, string>) });
    if (object.kind === 'Secret') {
      const decoded = Object.fromEntries(
        Object.entries((object.data as Record<string, string>) ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
      );
      secrets.set(object.metadata.name, { ...decoded, ...((object.stringData as Record<string, string>) ?? {}) });
    }
  }
  return { configMaps, secrets, pod };
}

const validEnvName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function lookup(store: Map<string, Record<string, string>>, kind: string, ref: KeyRef): string | undefined {
  const source = store.get(ref.name);
  if (!source) {
    if (ref.optional) return undefined;
    throw new Error(`${kind} "${ref.name}" not found`);
  }
  if (!(ref.key in source)) {
    if (ref.optional) return undefined;
    throw new Error(`couldn't find key ${ref.key} in ${kind} ${ref.name}`);
  }
  return source[ref.key];
}

/** $(VAR) → value of VAR defined so far; $$ → $; unknown references stay as written. */
export function expand(value: string, defined: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([^)]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && name in defined ? defined[name]! : match;
  });
}

export function containerEnv(container: Container, cluster: ClusterState): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const store = source.configMapRef ? cluster.configMaps : cluster.secrets;
    const data = store.get(ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new Error(`${container.name}: ${source.configMapRef ? 'configmap' : 'secret'} "${ref.name}" not found`);
    }
    for (const [key, value] of Object.entries(data)) {
      const name = `${source.prefix ?? ''}${key}`;
      if (validEnvName.test(name)) env[name] = value;
    }
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    let value: string | undefined;
    if (!from) value = expand(variable.value ?? '', env);
    else if (from.configMapKeyRef) value = lookup(cluster.configMaps, 'configmap', from.configMapKeyRef);
    else if (from.secretKeyRef) value = lookup(cluster.secrets, 'secret', from.secretKeyRef);
    else if (from.fieldRef) value = podField(from.fieldRef.fieldPath, cluster);
    else throw new Error(`${container.name}: env ${variable.name} uses a source this helper does not model`);
    if (value !== undefined) env[variable.name] = value;
  }
  return env;
}

function podField(path: string, cluster: ClusterState): string {
  if (path === 'metadata.name') return cluster.pod.name;
  if (path === 'metadata.namespace') return cluster.pod.namespace;
  if (path === 'status.podIP' || path === 'status.hostIP') return '127.0.0.1';
  throw new Error(`fieldRef ${path} is not modelled`);
}

/** The containerPort a probe or Service targetPort means: a number, or the name of a port. */
export function resolvePort(container: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports?.find((candidate) => candidate.name === port);
  if (!named) throw new Error(`${container.name} declares no port named ${port}`);
  return named.containerPort;
}
