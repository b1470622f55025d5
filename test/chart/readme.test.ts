// The chart README's values table documents exactly the values that exist: none missing, none
// invented (a README that documents values the chart does not read misleads every user).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chartSource } from './support/helm.ts';

// Blocks documented as one row: their insides are Kubernetes types, not keys of this chart.
const documentedAsWhole = new Set(['resources', 'podSecurityContext', 'containerSecurityContext', 'initContainerResources', 'labels', 'startup', 'liveness', 'readiness']);

function documentableKeys(values: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(values).flatMap(([key, value]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    const isBlock = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;
    return isBlock && !documentedAsWhole.has(key) ? documentableKeys(value as Record<string, unknown>, path) : [path];
  });
}

function tableKeys(readme: string): string[] {
  const table = readme.slice(readme.indexOf('## Values'));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
}

describe('helm/README.md values table', () => {
  const values = parse(readFileSync(join(chartSource, 'values.yaml'), 'utf8')) as Record<string, unknown>;
  const documented = tableKeys(readFileSync(join(chartSource, 'README.md'), 'utf8'));

  it('lists every value in values.yaml', () => {
    expect(documentableKeys(values).filter((key) => !documented.includes(key))).toEqual([]);
  });

  it('lists no value that values.yaml does not have', () => {
    const known = new Set(documentableKeys(values));
    expect(documented.filter((key) => !known.has(key))).toEqual([]);
    expect(documented.length).toBeGreaterThan(60);
  });
});
