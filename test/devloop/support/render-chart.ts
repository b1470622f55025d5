// Renders helm/ with the real helm binary, through the chart tests' own helpers (which render a
// copy without the `dependencies:` entries when the Bitnami subcharts have not been fetched).
import path from 'node:path';
import { render, renderableChart, type KubeObject } from '../../chart/support/helm.ts';
import { repoRoot } from './repo.ts';

export type { KubeObject };

export interface RenderOptions {
  release?: string;
  /** Relative to the repository root. */
  valuesFiles?: string[];
  set?: Record<string, string>;
}

export function renderChart(options: RenderOptions = {}): KubeObject[] {
  const chart = renderableChart();
  try {
    return render(chart.dir, {
      release: options.release,
      namespace: 'default',
      valuesFiles: (options.valuesFiles ?? []).map((file) => path.resolve(repoRoot, file)),
      set: options.set,
    });
  } finally {
    chart.dispose();
  }
}
