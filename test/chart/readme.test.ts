// The chart's values are documented once, by `## @param` comments in values.yaml: the README's
// Parameters table is generated from them by @bitnami/readme-generator-for-helm (which also fails
// on a documented key that does not exist or a value left undocumented), and values.schema.json
// (hand-written, strict: unknown keys and wrong enums are refused) types exactly those keys.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartSource, repoRoot } from './support/helm.ts';

const generator = join(repoRoot, 'node_modules/@bitnami/readme-generator-for-helm/bin/index.js');
const valuesText = readFileSync(join(chartSource, 'values.yaml'), 'utf8');
const documented = [...valuesText.matchAll(/^\s*## @param ([\w.]+)/gm)].map((match) => match[1]!);

/** Every property path the schema defines, following $refs; a path stops where the docs treat the value as a whole. */
function schemaPaths(): Set<string> {
  const schema = JSON.parse(readFileSync(join(chartSource, 'values.schema.json'), 'utf8'));
  const resolve = (node: any): any => (node?.$ref ? resolve(schema.definitions[node.$ref.split('/').pop()]) : node);
  const paths = new Set<string>();
  const walk = (node: any, prefix: string): void => {
    node = resolve(node);
    for (const [key, child] of Object.entries<any>(node?.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.add(path);
      if (!documented.includes(path)) walk(child, path);
    }
  };
  walk(schema, '');
  return paths;
}

describe('values documentation', () => {
  it('the Parameters table in helm/README.md is what the generator makes of values.yaml (run `npm run chart:readme`)', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'users-readme-'));
    try {
      const readme = join(scratch, 'README.md');
      copyFileSync(join(chartSource, 'README.md'), readme);
      const run = spawnSync(process.execPath, [generator, '--values', join(chartSource, 'values.yaml'), '--readme', readme], { encoding: 'utf8' });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(readFileSync(readme, 'utf8')).toBe(readFileSync(join(chartSource, 'README.md'), 'utf8'));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('every documented value is typed in values.schema.json', () => {
    const paths = schemaPaths();
    expect(documented.filter((key) => !paths.has(key))).toEqual([]);
    expect(documented.length).toBeGreaterThan(80);
  });

  it('every value the schema types in this chart’s own blocks is documented', () => {
    // postgresql, redis and global belong to the subcharts: the schema also types keys of theirs
    // that this chart reads but does not set (auth.existingSecret, fullnameOverride, …).
    const subchartBlock = /^(postgresql|redis|global)\./;
    const undocumented = [...schemaPaths()].filter(
      (path) => !subchartBlock.test(path) && !documented.includes(path) && !documented.some((key) => key.startsWith(`${path}.`)),
    );
    expect(undocumented).toEqual([]);
  });
});
