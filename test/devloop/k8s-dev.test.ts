// k8s-dev/: the dev values render through the real chart as promised, the kind config and the
// scripts agree on names, and the pitfalls are written down where TROUBLESHOOTING.md says.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderChart, type KubeObject } from './support/render-chart.ts';
import { repoRoot } from './support/repo.ts';

const read = (file: string): string => readFileSync(path.join(repoRoot, file), 'utf8');

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  imagePullPolicy?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface Deployment extends KubeObject {
  spec: { replicas: number; template: { spec: { containers: Container[]; initContainers?: Container[] } } };
}

describe('k8s-dev/values-dev.yaml', () => {
  const values = parse(read('k8s-dev/values-dev.yaml')) as Record<string, unknown>;

  it('is valid against the chart values schema', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    const schema = JSON.parse(read('helm/values.schema.json')) as object;
    const defaults = parse(read('helm/values.yaml')) as Record<string, Record<string, unknown>>;
    // helm validates the merged values; merging one level deep is enough for these blocks.
    const merged = { ...defaults, userService: deepMerge(defaults.userService!, values.userService), dataService: deepMerge(defaults.dataService!, values.dataService) };
    const validate = ajv.compile(schema);
    expect(validate(merged), ajv.errorsText(validate.errors)).toBe(true);
    expect(validate({ ...merged, userService: { ...merged.userService, replicas: 1 } })).toBe(false);
  });

  it('renders one replica of each service with small requests, never pulling the loaded images', () => {
    const objects = renderChart({ valuesFiles: ['k8s-dev/values-dev.yaml'] });
    for (const name of ['users-user-service', 'users-data-service']) {
      const deployment = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === name) as Deployment | undefined;
      expect(deployment, name).toBeDefined();
      expect(deployment!.spec.replicas).toBe(1);
      const container = deployment!.spec.template.spec.containers[0]!;
      expect(container.imagePullPolicy).toBe('IfNotPresent');
      expect(container.resources?.requests).toEqual({ cpu: '50m', memory: '96Mi' });
      expect(container.resources?.limits?.memory).toBe('256Mi');
    }
  });

  it('seeds the demo rows, which the chart leaves off by default', () => {
    const migrateCommand = (valuesFiles: string[]): string[] => {
      const objects = renderChart({ valuesFiles });
      const user = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === 'users-user-service') as Deployment;
      const migrate = user.spec.template.spec.initContainers?.find((container) => container.name === 'migrate');
      return [...(migrate?.command ?? []), ...(migrate?.args ?? [])];
    };
    expect(migrateCommand(['k8s-dev/values-dev.yaml'])).toContain('--seed');
    expect(migrateCommand([])).not.toContain('--seed');
  });
  it('gives the databases no volumes, so a reinstall never meets an old password', () => {
    expect(values).toMatchObject({
      postgresql: { primary: { persistence: { enabled: false } } },
      redis: { master: { persistence: { enabled: false } } },
    });
  });
});

describe('k8s-dev/kind-cluster.yaml', () => {
  it('is a one-node kind cluster named as the Makefile and scripts expect', () => {
    const cluster = parse(read('k8s-dev/kind-cluster.yaml')) as { kind: string; apiVersion: string; name: string; nodes: { role: string }[] };
    expect(cluster).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4', name: 'users-dev' });
    expect(cluster.nodes).toEqual([{ role: 'control-plane' }]);
    expect(read('Makefile')).toMatch(/^KIND_CLUSTER \?= users-dev$/m);
    expect(read('k8s-dev/kind-up.sh')).toContain('cluster="${KIND_CLUSTER:-users-dev}"');
  });
});

describe('k8s-dev scripts', () => {
  const scripts = readdirSync(path.join(repoRoot, 'k8s-dev')).filter((file) => file.endsWith('.sh'));

  it('are valid bash that stops at the first failing command', () => {
    expect(scripts.sort()).toEqual(['kind-up.sh', 'load-images.sh', 'minikube-up.sh', 'port-forward.sh', 'require-cluster.sh']);
    for (const script of scripts) {
      const file = path.join(repoRoot, 'k8s-dev', script);
      expect(() => execFileSync('bash', ['-n', file], { stdio: 'pipe' }), script).not.toThrow();
      expect(readFileSync(file, 'utf8'), script).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)+set -euo pipefail$/m);
    }
  });
});

describe('k8s-dev/TROUBLESHOOTING.md', () => {
  const doc = read('k8s-dev/TROUBLESHOOTING.md');

  it('covers the known pitfalls, each with a fix', () => {
    // Bitnami moved versioned tags to bitnamilegacy; a mirror or a digest is one value.
    expect(doc).toContain('bitnamilegacy/');
    expect(doc).toMatch(/`global\.imageRegistry`[\s\S]*`postgresql\.image\.digest`/);
    // kind load under Docker's containerd image store.
    expect(doc).toContain('ctr: content digest sha256:… not found');
    expect(doc).toContain('"containerd-snapshotter": false');
    // A renamed kind context is no longer local to skaffold.
    expect(doc).toContain('kind export kubeconfig --name users-dev');
    expect(doc).toContain('skaffold config set --kube-context <name> local-cluster true');
    // e2e's exit code for "no cluster".
    expect(doc).toContain('exits with 77');
  });

  it('names only make targets and settings that exist', () => {
    const targets = new Set([...read('Makefile').matchAll(/^([a-z0-9-]+):/gm)].map((match) => match[1]));
    for (const [, target] of doc.matchAll(/`make ([a-z0-9-]+)/g)) expect(targets, `make ${target}`).toContain(target);
    const settings = read('e2e/settings.ts');
    const variables = [...doc.matchAll(/\b(E2E_[A-Z_]+)/g)].map((match) => match[1]!);
    expect(variables.length).toBeGreaterThan(0);
    for (const variable of variables) expect(settings, variable).toMatch(new RegExp(`env\\.${variable}\\b|'${variable}'`));
  });
});

function deepMerge(base: Record<string, unknown>, override: unknown): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries((override ?? {}) as Record<string, unknown>)) {
    const current = result[key];
    result[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? deepMerge(current as Record<string, unknown>, value)
        : value;
  }
  return result;
}
