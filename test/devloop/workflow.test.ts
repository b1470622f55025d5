// The GitHub Actions workflow cannot run here (no cluster, no runner): it is checked against the
// workflow schema by @action-validator/cli, and its steps are held to Makefile targets, which the
// Makefile tests cover.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './support/repo.ts';

const workflowsDir = path.join(repoRoot, '.github/workflows');
const workflows = readdirSync(workflowsDir).filter((name) => /\.ya?ml$/.test(name));
const validator = path.join(repoRoot, 'node_modules/.bin/action-validator');
const validate = (file: string) => spawnSync(validator, [file], { encoding: 'utf8' });

const makeTargets = (): Set<string> => {
  const help = spawnSync('make', ['--no-print-directory', 'help'], { cwd: repoRoot, encoding: 'utf8' }).stdout;
  return new Set([...help.matchAll(/^ {2}([a-z0-9-]+) /gm)].map((match) => match[1]!));
};

describe('.github/workflows', () => {
  it.each(workflows)('%s is a valid workflow', (name) => {
    const result = validate(path.join(workflowsDir, name));
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('the validator rejects a broken workflow', () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'users-workflow-'));
    try {
      const file = path.join(scratch, 'broken.yaml');
      writeFileSync(file, 'name: broken\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-24.04\n    stepz:\n      - run: make test\n');
      expect(validate(file).status).not.toBe(0);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('runs only Makefile targets (besides installing the dev dependencies), and installs both profiles with helm test and e2e', () => {
    const targets = makeTargets();
    const workflow = parse(readFileSync(path.join(workflowsDir, 'kind.yaml'), 'utf8'));
    const runs = Object.values<any>(workflow.jobs).flatMap((job) => job.steps.filter((step: any) => step.run).map((step: any) => step.run.trim() as string));
    for (const run of runs) {
      if (run === 'npm ci --no-audit --no-fund') continue;
      const match = /^make ([a-z0-9-]+)((?: [A-Z_]+=(?:\$\{\{ matrix\.\w+ \}\}|\S+))*)$/.exec(run);
      expect(match, run).not.toBeNull();
      expect(targets.has(match![1]!), `make ${match![1]} is a Makefile target`).toBe(true);
    }
    expect(runs).toEqual(expect.arrayContaining(['make test', 'make images', 'make kind-up', 'make load', 'make deps', 'make helm-test', 'make e2e']));
    const profiles = workflow.jobs.install.strategy.matrix.include.map((entry: any) => entry.values);
    expect(profiles).toEqual(['k8s-dev/values-dev.yaml', 'helm/values-prod.yaml']);
  });
});
