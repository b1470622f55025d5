// Runs the real helm against the chart in helm/. No chart registry is reachable in CI, so when
// helm/charts/ lacks the Bitnami subcharts the chart is rendered from a temporary copy whose
// Chart.yaml has no `dependencies:` (helm refuses to lint or template a chart with missing
// dependencies). Our templates derive the subcharts' names from values, not from the subcharts,
// so what they render is the same either way; only the subcharts' own objects are missing.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { beforeEach, describe } from 'vitest';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const chartSource = join(repoRoot, 'helm');

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** The helm found on PATH. */
export function helm(args: string[], extraEnv: Record<string, string> = {}): HelmResult {
  const run = spawnSync('helm', args, { env: { ...process.env, ...extraEnv }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error('helm is not on PATH: the chart tests need Helm 4 (https://helm.sh/docs/intro/install/)');
  }
  if (run.error) throw run.error;
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

/** helm without blocking this process: for runs that talk to a server living in this process. */
export function helmAsync(args: string[], extraEnv: Record<string, string> = {}, timeoutMs = 60_000): Promise<HelmResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('helm', args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ status: code ?? -1, stdout, stderr }));
  });
}

export interface RenderableChart {
  dir: string;
  /** True when the Bitnami subcharts are in helm/charts/ and render with the release. */
  withSubcharts: boolean;
  dispose(): void;
}

/** The version Chart.yaml pins for a dependency. */
function pinnedVersion(name: string): string {
  const chartYaml = parse(readFileSync(join(chartSource, 'Chart.yaml'), 'utf8')) as { dependencies: { name: string; version: string }[] };
  return chartYaml.dependencies.find((dependency) => dependency.name === name)!.version;
}

/** Whether helm/charts/ holds the subchart; throws when it holds another version than the one pinned. */
function hasSubchart(name: string): boolean {
  const chartsDir = join(chartSource, 'charts');
  if (!existsSync(chartsDir)) return false;
  const entry = readdirSync(chartsDir).find((candidate) => candidate === name || (candidate.startsWith(`${name}-`) && candidate.endsWith('.tgz')));
  if (!entry) return false;
  const version = entry.endsWith('.tgz')
    ? entry.slice(name.length + 1, -'.tgz'.length)
    : (parse(readFileSync(join(chartsDir, entry, 'Chart.yaml'), 'utf8')) as { version: string }).version;
  const pinned = pinnedVersion(name);
  if (version !== pinned) throw new Error(`helm/charts/ holds ${name} ${version}, but Chart.yaml pins ${pinned}: run \`helm dependency build helm\``);
  return true;
}

export const subchartsPresent = (): boolean => hasSubchart('postgresql') && hasSubchart('redis');

export function renderableChart(): RenderableChart {
  if (subchartsPresent()) {
    return { dir: chartSource, withSubcharts: true, dispose: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'users-chart-'));
  cpSync(chartSource, dir, { recursive: true, filter: (path) => !path.startsWith(join(chartSource, 'charts')) });
  const chartYaml = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  delete chartYaml.dependencies;
  writeFileSync(join(dir, 'Chart.yaml'), stringify(chartYaml));
  rmSync(join(dir, 'Chart.lock'), { force: true });
  return { dir, withSubcharts: false, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: Record<string, string | number | boolean>;
}

/** --values/--set arguments for the options (shared by lint and template). */
export function valuesArgs(options: RenderOptions = {}): string[] {
  const args: string[] = [];
  for (const file of options.valuesFiles ?? []) args.push('--values', file);
  for (const [key, value] of Object.entries(options.set ?? {})) {
    // --set-string keeps "0"/"true" as strings where the schema expects strings.
    args.push(typeof value === 'string' ? '--set-string' : '--set', `${key}=${value}`);
  }
  return args;
}

export function templateArgs(chartDir: string, options: RenderOptions = {}): string[] {
  return ['template', options.release ?? 'users', chartDir, '--namespace', options.namespace ?? 'users', ...valuesArgs(options)];
}

/** `helm template`, parsed into objects; throws with helm's stderr when rendering fails. */
export function render(chartDir: string, options: RenderOptions = {}): KubeObject[] {
  const result = helm(templateArgs(chartDir, options));
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

export function parseManifests(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`unparsable manifest: ${doc.errors[0]!.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((object): object is KubeObject => object !== null);
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export function ofKind(objects: KubeObject[], kind: string): KubeObject[] {
  return objects.filter((object) => object.kind === kind);
}

export const valuesFile = (name: string): string => join(chartSource, name);

const subchartsMissing = 'skipped: the Bitnami subcharts are not in helm/charts/ (`helm dependency build helm` fetches them)';

/** A describe block that needs the real subcharts; without them each test skips with the reason as its note. */
export function describeWithSubcharts(title: string, body: () => void): void {
  const present = subchartsPresent();
  describe(title, () => {
    if (!present) beforeEach((context) => context.skip(subchartsMissing));
    body();
  });
}
