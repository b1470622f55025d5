// Renders helm/ with the real helm binary. Without network the Bitnami subcharts cannot be fetched,
// and helm refuses a chart whose declared dependencies are missing from charts/, so when they are
// absent we render a copy without the `dependencies:` entries: our own templates are what we test.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { repoRoot, toolPath } from './repo.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

export interface RenderOptions {
  release?: string;
  valuesFiles?: string[];
  set?: Record<string, string>;
}

export function renderChart(options: RenderOptions = {}): KubeObject[] {
  const chartDir = path.join(repoRoot, 'helm');
  const work = mkdtempSync(path.join(tmpdir(), 'devloop-chart-'));
  try {
    let renderDir = chartDir;
    if (!existsSync(path.join(chartDir, 'charts'))) {
      renderDir = path.join(work, 'users');
      cpSync(chartDir, renderDir, { recursive: true });
      const chart = parse(readFileSync(path.join(renderDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
      delete chart.dependencies;
      writeFileSync(path.join(renderDir, 'Chart.yaml'), stringify(chart));
    }
    const args = ['template', options.release ?? 'users', renderDir];
    for (const file of options.valuesFiles ?? []) args.push('--values', path.resolve(repoRoot, file));
    for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set-string', `${key}=${value}`);
    const output = execFileSync('helm', args, { cwd: repoRoot, env: { ...process.env, PATH: toolPath }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(output)
      .map((document) => document.toJS() as KubeObject | null)
      .filter((object): object is KubeObject => object !== null);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
