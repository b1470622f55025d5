// skaffold.yaml is only ever run on a developer's machine, so here we prove what can be proved
// without skaffold: it is valid for its apiVersion, and every name in it meets the real chart.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderChart, type KubeObject } from './support/render-chart.ts';
import { repoRoot } from './support/repo.ts';

interface HelmRelease {
  name: string;
  chartPath: string;
  valuesFiles?: string[];
  skipBuildDependencies?: boolean;
  setValueTemplates: Record<string, string>;
}
interface SkaffoldConfig {
  apiVersion: string;
  build: { artifacts: { image: string; context?: string; docker?: { dockerfile?: string } }[]; local?: { push?: boolean } };
  deploy: { helm: { releases: HelmRelease[] } };
  portForward: { resourceType: string; resourceName: string; port: number; localPort?: number }[];
  profiles: { name: string; activation?: { kubeContext?: string }[]; build?: { local?: { push?: boolean } } }[];
}

const skaffold = parse(readFileSync(path.join(repoRoot, 'skaffold.yaml'), 'utf8')) as SkaffoldConfig;
const release = skaffold.deploy.helm.releases[0]!;

// skaffold's own schema (`skaffold schema get skaffold/v4beta14`, Apache-2.0), kept with the tests
// so they need nothing outside the repository. SKAFFOLD_SCHEMA points at another copy.
const schemaPath = process.env.SKAFFOLD_SCHEMA || path.join(repoRoot, 'test/devloop/fixtures/skaffold-v4beta14.json');

describe('skaffold.yaml', () => {
  it('is valid against the skaffold/v4beta14 JSON schema', () => {
    expect(skaffold.apiVersion).toBe('skaffold/v4beta14');
    if (!existsSync(schemaPath)) {
      throw new Error(
        `skaffold's JSON schema is missing at ${schemaPath}: set SKAFFOLD_SCHEMA to a copy of it ` +
          '(`skaffold schema get skaffold/v4beta14 > skaffold-v4beta14.json`)',
      );
    }
    const ajv = new Ajv({ strict: false, allErrors: true });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
    const valid = validate(skaffold);
    expect(valid, ajv.errorsText(validate.errors, { separator: '\n' })).toBe(true);

    // The schema rejects unknown keys at every level, so a typo cannot pass as valid.
    const misspelled = structuredClone(skaffold) as unknown as { deploy: { helm: { releases: Record<string, unknown>[] } } };
    misspelled.deploy.helm.releases[0]!.setValueTemplate = misspelled.deploy.helm.releases[0]!.setValueTemplates;
    expect(validate(misspelled)).toBe(false);
  });

  it('builds each image from its own Dockerfile, named as the chart\'s default repositories', () => {
    const artifacts = Object.fromEntries(skaffold.build.artifacts.map((artifact) => [artifact.image, artifact.docker?.dockerfile]));
    expect(artifacts).toEqual({ 'user-service': 'Dockerfile.user', 'data-service': 'Dockerfile.data' });
    for (const artifact of skaffold.build.artifacts) {
      expect(existsSync(path.join(repoRoot, artifact.context ?? '.', artifact.docker!.dockerfile!)), artifact.docker!.dockerfile).toBe(true);
    }
    const values = parse(readFileSync(path.join(repoRoot, 'helm/values.yaml'), 'utf8')) as Record<string, { image: { repository: string } }>;
    expect(values.userService!.image.repository).toBe('user-service');
    expect(values.dataService!.image.repository).toBe('data-service');
  });

  it('deploys helm/ with the dev values and builds its chart dependencies first', () => {
    expect(skaffold.deploy.helm.releases).toHaveLength(1);
    expect(release.chartPath).toBe('helm');
    expect(release.skipBuildDependencies).toBe(false);
    for (const file of release.valuesFiles ?? []) expect(existsSync(path.join(repoRoot, file)), file).toBe(true);
    expect(release.valuesFiles).toContain('k8s-dev/values-dev.yaml');
  });

  describe('setValueTemplates', () => {
    let valuesSchema: JsonSchema;
    beforeAll(() => {
      valuesSchema = JSON.parse(readFileSync(path.join(repoRoot, 'helm/values.schema.json'), 'utf8')) as JsonSchema;
    });

    it('sets only keys that exist in helm/values.schema.json', () => {
      const keys = Object.keys(release.setValueTemplates);
      expect(keys.length).toBeGreaterThan(0);
      const unknown = keys.filter((key) => schemaAt(valuesSchema, key.split('.')) === undefined);
      expect(unknown).toEqual([]);
      // The walk itself must be able to say no.
      expect(schemaAt(valuesSchema, ['userService', 'image', 'repo'])).toBeUndefined();
    });

    it("maps each built image's repository and tag into that service's image values", () => {
      const expected: Record<string, string> = {};
      for (const { image } of skaffold.build.artifacts) {
        // skaffold's template names replace "-", ".", "/" and ":" in the image name with "_".
        const templateName = image.replace(/[-./:]/g, '_');
        const valuesKey = image === 'user-service' ? 'userService' : 'dataService';
        expected[`${valuesKey}.image.repository`] = `{{.IMAGE_REPO_${templateName}}}`;
        expected[`${valuesKey}.image.tag`] = `{{.IMAGE_TAG_${templateName}}}`;
      }
      expect(release.setValueTemplates).toEqual(expected);
    });

    it('renders the chart with the images skaffold built', () => {
      const built = { user_service: ['user-service', 'a1b2c3d-dirty'], data_service: ['data-service', 'e4f5a6b'] } as const;
      const set = Object.fromEntries(
        Object.entries(release.setValueTemplates).map(([key, template]) => [
          key,
          template.replace(/\{\{\.IMAGE_(REPO|TAG)_(\w+)\}\}/g, (_, part: string, name: keyof typeof built) => built[name][part === 'REPO' ? 0 : 1]),
        ]),
      );
      const objects = renderChart({ release: release.name, valuesFiles: release.valuesFiles ?? [], set });
      expect(containerImage(deploymentNamed(objects, `${release.name}-user-service`))).toBe('user-service:a1b2c3d-dirty');
      expect(containerImage(deploymentNamed(objects, `${release.name}-data-service`))).toBe('data-service:e4f5a6b');
    });
  });

  it("forwards each service's Deployment at its container's http port", () => {
    const objects = renderChart({ release: release.name, valuesFiles: release.valuesFiles ?? [] });
    expect(skaffold.portForward.map(({ resourceName, localPort }) => [resourceName, localPort])).toEqual([
      [`${release.name}-user-service`, 5000],
      [`${release.name}-data-service`, 5001],
    ]);
    for (const forward of skaffold.portForward) {
      expect(forward.resourceType).toBe('deployment');
      const ports = deploymentNamed(objects, forward.resourceName).spec.template.spec.containers[0]!.ports ?? [];
      expect(ports.find((port) => port.name === 'http')?.containerPort).toBe(forward.port);
    }
  });

  it('has kind and minikube profiles, chosen by the context name, that never push', () => {
    const activatedFor = (context: string): string[] =>
      skaffold.profiles
        // skaffold matches kubeContext as an exact name or an unanchored regular expression.
        .filter((profile) => profile.activation?.some(({ kubeContext }) => kubeContext !== undefined && (kubeContext === context || new RegExp(kubeContext).test(context))))
        .map((profile) => profile.name);
    expect(activatedFor('kind-users-dev')).toEqual(['kind']);
    expect(activatedFor('minikube')).toEqual(['minikube']);
    // A renamed kind context is a remote cluster to skaffold, and our profile agrees.
    expect(activatedFor('users-dev')).toEqual([]);
    expect(activatedFor('gke_project_zone_prod')).toEqual([]);
    for (const profile of skaffold.profiles) expect(profile.build?.local?.push, profile.name).toBe(false);
  });
});

interface JsonSchema {
  $ref?: string;
  properties?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
}

/** The schema of the value at `keys`, following local $refs; undefined when no such key is declared. */
function schemaAt(root: JsonSchema, keys: string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const key of keys) {
    node = resolve(root, node);
    node = node?.properties?.[key];
    if (node === undefined) return undefined;
  }
  return resolve(root, node);
}

function resolve(root: JsonSchema, node: JsonSchema | undefined): JsonSchema | undefined {
  let current = node;
  while (current?.$ref) {
    const pointer: string[] = current.$ref.replace(/^#\//, '').split('/');
    current = pointer.reduce<JsonSchema | undefined>((at, part) => (at as Record<string, JsonSchema> | undefined)?.[part], root);
  }
  return current;
}

interface Deployment extends KubeObject {
  spec: { template: { spec: { containers: { image: string; ports?: { name?: string; containerPort: number }[] }[] } } };
}

function deploymentNamed(objects: KubeObject[], name: string): Deployment {
  const found = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === name);
  if (!found) throw new Error(`the chart renders no Deployment "${name}"; it has ${objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).join(', ')}`);
  return found as Deployment;
}

function containerImage(deployment: Deployment): string {
  return deployment.spec.template.spec.containers[0]!.image;
}
