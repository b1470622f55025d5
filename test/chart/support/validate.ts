// Validates rendered objects the way an API server would, without one: the Kubernetes OpenAPI
// schemas from kubernetes-models (types, required fields, enums) plus a walk over the typed models
// of @kubernetes/client-node that rejects fields Kubernetes does not know (a misspelled
// `readOnlyRootFileSystem` passes JSON-schema validation but is silently dropped by a cluster).
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from './helm.ts';

type Model = { new (data: unknown): { validate(): void } };
type AttributeMap = { baseName: string; type: string }[];
type TypedModel = { getAttributeTypeMap(): AttributeMap };

// apiVersion → the kubernetes-models module that holds its kinds.
const modelModules: Record<string, () => Promise<Record<string, unknown>>> = {
  v1: () => import('kubernetes-models/v1'),
  'apps/v1': () => import('kubernetes-models/apps/v1'),
  'batch/v1': () => import('kubernetes-models/batch/v1'),
  'autoscaling/v2': () => import('kubernetes-models/autoscaling/v2'),
  'policy/v1': () => import('kubernetes-models/policy/v1'),
  'networking.k8s.io/v1': () => import('kubernetes-models/networking.k8s.io/v1'),
  'rbac.authorization.k8s.io/v1': () => import('kubernetes-models/rbac.authorization.k8s.io/v1'),
};

/** client-node's class name for a kind: apps/v1 Deployment → V1Deployment, autoscaling/v2 → V2… */
function typedModelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').at(-1)!;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

function typedModel(type: string): TypedModel | undefined {
  const candidate = (k8s as unknown as Record<string, unknown>)[type] as Partial<TypedModel> | undefined;
  return typeof candidate?.getAttributeTypeMap === 'function' ? (candidate as TypedModel) : undefined;
}

/** Paths of fields that the Kubernetes type does not define. */
export function unknownFields(value: unknown, type: string, path: string): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`)) : [];
  const model = typedModel(type);
  if (!model || typeof value !== 'object') return [];
  const attributes = model.getAttributeTypeMap();
  return Object.entries(value as Record<string, unknown>).flatMap(([field, child]) => {
    const attribute = attributes.find((candidate) => candidate.baseName === field);
    return attribute ? unknownFields(child, attribute.type, `${path}.${field}`) : [`${path}.${field}`];
  });
}

/** Throws, naming the object and the problem, when Kubernetes would reject or silently mangle it. */
export async function validateObject(object: KubeObject): Promise<void> {
  const label = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
  if (object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'ServiceMonitor') {
    validateServiceMonitor(object, label);
    return;
  }
  if (object.apiVersion === 'monitoring.coreos.com/v1' && object.kind === 'PrometheusRule') {
    validatePrometheusRule(object, label);
    return;
  }
  const load = modelModules[object.apiVersion];
  if (!load) throw new Error(`${label}: no schema known for apiVersion ${object.apiVersion}`);
  const model = (await load())[object.kind] as Model | undefined;
  if (!model) throw new Error(`${label}: no schema known for kind ${object.kind}`);
  try {
    new model(object).validate();
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message}`);
  }
  const typeName = typedModelName(object.apiVersion, object.kind);
  if (!typedModel(typeName)) throw new Error(`${label}: no typed model ${typeName} to check field names`);
  const unknown = unknownFields(object, typeName, object.kind);
  if (unknown.length > 0) throw new Error(`${label}: fields Kubernetes does not know: ${unknown.join(', ')}`);
}

/** The Prometheus Operator CRD is not in kubernetes-models: check the fields that make it scrape. */
function validateServiceMonitor(object: KubeObject, label: string): void {
  const problems: string[] = [];
  const spec = object.spec as { selector?: unknown; endpoints?: unknown[] } | undefined;
  const known = ['apiVersion', 'kind', 'metadata', 'spec'];
  for (const field of Object.keys(object)) if (!known.includes(field)) problems.push(`unknown field ${field}`);
  if (!spec || typeof spec !== 'object') problems.push('spec missing');
  else {
    const selector = spec.selector as { matchLabels?: unknown; matchExpressions?: unknown } | undefined;
    if (!selector || (!selector.matchLabels && !selector.matchExpressions)) problems.push('spec.selector selects nothing');
    if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) problems.push('spec.endpoints empty');
    for (const [i, endpoint] of (spec.endpoints ?? []).entries()) {
      const { port, path, interval, scrapeTimeout, ...rest } = endpoint as Record<string, unknown>;
      if (typeof port !== 'string' || port === '') problems.push(`endpoints[${i}].port must name a Service port`);
      if (typeof path !== 'string' || !path.startsWith('/')) problems.push(`endpoints[${i}].path must be absolute`);
      for (const duration of [interval, scrapeTimeout]) {
        if (duration !== undefined && !/^[0-9]+(ms|s|m|h)$/.test(String(duration))) problems.push(`endpoints[${i}]: bad duration ${String(duration)}`);
      }
      for (const field of Object.keys(rest)) problems.push(`endpoints[${i}]: unexpected field ${field}`);
    }
  }
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
}

/**
 * The PrometheusRule CRD's shape (its expressions are checked by promtool in alerts.test.ts):
 * fields the operator does not know are dropped by the API server, so a misspelled `for` would
 * silently make an alert fire at once.
 */
function validatePrometheusRule(object: KubeObject, label: string): void {
  const problems: string[] = [];
  for (const field of Object.keys(object)) if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(field)) problems.push(`unknown field ${field}`);
  const spec = object.spec as { groups?: unknown } | undefined;
  if (!spec || !Array.isArray(spec.groups) || spec.groups.length === 0) problems.push('spec.groups empty');
  for (const [i, group] of ((spec?.groups as Record<string, unknown>[] | undefined) ?? []).entries()) {
    for (const field of Object.keys(group)) if (!['name', 'interval', 'rules', 'limit', 'partial_response_strategy'].includes(field)) problems.push(`groups[${i}]: unknown field ${field}`);
    if (typeof group.name !== 'string' || group.name === '') problems.push(`groups[${i}].name missing`);
    for (const [j, rule] of ((group.rules as Record<string, unknown>[] | undefined) ?? []).entries()) {
      for (const field of Object.keys(rule)) {
        if (!['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(field)) problems.push(`groups[${i}].rules[${j}]: unknown field ${field}`);
      }
      if (typeof rule.alert !== 'string' && typeof rule.record !== 'string') problems.push(`groups[${i}].rules[${j}]: neither alert nor record`);
      if (typeof rule.expr !== 'string' || rule.expr.trim() === '') problems.push(`groups[${i}].rules[${j}]: expr missing`);
      if (rule.for !== undefined && !/^([0-9]+(ms|s|m|h|d|w|y))+$/.test(String(rule.for))) problems.push(`groups[${i}].rules[${j}]: bad duration ${String(rule.for)}`);
    }
  }
  if (problems.length > 0) throw new Error(`${label}: ${problems.join('; ')}`);
}
