import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The services' import graph as the source states it: every relative `from '…'` and `import('…')`,
// type-only imports included, since a reader follows those too.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sharedSrc = join(root, 'services/shared/src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

const SPECIFIER = /(?:\bfrom\s+|\bimport\(\s*)'(\.{1,2}\/[^']+)'/g;

function importsOf(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map(([, spec]) => resolve(dirname(file), spec!));
}

const files = ['shared', 'user', 'data'].flatMap((service) => sourceFiles(join(root, 'services', service, 'src')));
const graph = new Map(files.map((file) => [file, importsOf(file)]));

/** Every cycle reachable in `edges`, each as the list of nodes it passes, found by depth-first search. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string) => {
    const onPath = path.indexOf(node);
    if (onPath >= 0) return void found.push([...path.slice(onPath), node]);
    if (done.has(node)) return;
    path.push(node);
    for (const next of edges.get(node) ?? []) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of edges.keys()) visit(node);
  return found;
}

const shown = (cycle: string[]) => cycle.map((node) => relative(root, node)).join(' -> ');

describe('import graph', () => {
  it('resolves every relative import of the services to a file that exists', () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => !graph.has(target)).map((target) => `${relative(root, file)} -> ${relative(root, target)}`),
    );
    expect(missing).toEqual([]);
  });

  it('has no import circle between the services\' modules', () => {
    expect(cycles(graph).map(shown)).toEqual([]);
  });

  it('has no circle between the folders of services/shared/src either', () => {
    const folderOf = (file: string) => relative(sharedSrc, dirname(file));
    const folders = new Map<string, string[]>();
    for (const [file, targets] of graph) {
      if (!file.startsWith(sharedSrc)) continue;
      const from = folderOf(file);
      const to = targets.filter((target) => target.startsWith(sharedSrc)).map(folderOf).filter((folder) => folder !== from);
      folders.set(from, [...new Set([...(folders.get(from) ?? []), ...to])]);
    }
    expect([...folders.keys()].length).toBeGreaterThan(1);
    expect(cycles(folders).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('splits services/shared/src into folders, each opened by an index.ts that says what it owns', () => {
    const entries = readdirSync(sharedSrc);
    expect(entries.filter((name) => !statSync(join(sharedSrc, name)).isDirectory())).toEqual([]);
    for (const folder of entries) {
      const index = readFileSync(join(sharedSrc, folder, 'index.ts'), 'utf8');
      expect(index, `${folder}/index.ts`).toMatch(/^\/\/ \S.{20,}/);
    }
  });

  it('reaches the OpenTelemetry SDK only through the dynamic import in tracing.ts', () => {
    const sdk = join(sharedSrc, 'observability/tracing-sdk.ts');
    const importers = [...graph].filter(([, targets]) => targets.includes(sdk)).map(([file]) => relative(root, file));
    expect(importers).toEqual(['services/shared/src/observability/tracing.ts']);
    expect(readFileSync(join(sharedSrc, 'observability/tracing.ts'), 'utf8')).toMatch(/await import\('\.\/tracing-sdk\.ts'\)/);
  });
});
