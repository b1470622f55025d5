// Every ```sh block of README.md and docs/*.md, so the pages cannot drift from what the project does.
// Blocks of curl lines run for real against both services (started here on a scratch database
// with the demo users), each line's comment a promise the answer must keep (test/support/
// walkthrough.ts). Blocks that need a cluster, Docker or the whole suite are checked for shape
// instead: bash parses them, each `make` target and `npm run` script they name exists, and so does
// each repository path. The cluster tests run the walkthrough through port-forward as well.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { startData, startUser, testToken, waitFor } from './support/services.ts';
import { blocks, isWalkthrough, key, pages, root, runWalkthrough } from './support/walkthrough.ts';

/**
 * Blocks checked for shape only, and why they cannot run here. A new block that is not curl lines
 * has to be added here (or made runnable), so none goes unchecked.
 */
const SHAPE_ONLY: Record<string, string> = {
  'README.md § Run it': '`make test` is this suite itself; `make run` is run by test/devloop/run-local.test.ts',
  'docs/kubernetes.md § 1. A cluster': 'creates a kind or minikube cluster',
  'docs/kubernetes.md § A local single-node cluster': 'builds and starts a cluster on this machine',
  'docs/kubernetes.md § 2. Deploy': 'needs a cluster (and skaffold or Docker)',
  'docs/kubernetes.md § 3. curl': 'execs into a pod of the release',
  'docs/kubernetes.md § 4. Smoke test': 'needs a cluster; e2e without one is test/devloop/e2e-no-cluster.test.ts',
  'docs/kubernetes.md § 5. Clean up': 'removes the release and the cluster',
  'docs/kubernetes.md § The images, built and run by hand': 'needs Docker or Podman; `npm run test:images` runs these for real',
};


describe('command blocks in README.md and docs/', () => {
  it('are all ```sh blocks, and each is either run or listed as checked for shape', () => {
    for (const page of pages) expect(readFileSync(join(root, page), 'utf8'), page).not.toMatch(/^```(bash|shell|console|zsh)\b/m);
    expect(blocks.filter((block) => !isWalkthrough(block) && !SHAPE_ONLY[key(block)]).map(key)).toEqual([]);
    expect(blocks.filter(isWalkthrough).length).toBeGreaterThan(0);
  });
});

describe('blocks checked for shape', () => {
  const makefile = readFileSync(join(root, 'Makefile'), 'utf8');
  const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
  const shaped = blocks.filter((block) => !isWalkthrough(block));

  it.each(shaped.map((block) => [key(block), block] as const))('%s', (_, block) => {
    const parsed = spawnSync('bash', ['-n'], { input: block.text, encoding: 'utf8' });
    expect(parsed.status, parsed.stderr).toBe(0);
    for (const [, target] of block.text.matchAll(/\bmake\s+([a-z][\w-]*)/g)) {
      expect(makefile, `make ${target}`).toMatch(new RegExp(`^${target}:`, 'm'));
    }
    for (const [, script] of block.text.matchAll(/\bnpm run (?:-s )?([\w:-]+)/g)) expect(scripts, `npm run ${script}`).toContain(script);
    for (const [path] of block.text.matchAll(/(?<![\w/.-])(?:k8s-dev|helm|scripts|bench|services|test|e2e|docs)\/[\w./-]*\w|\bDockerfile\.\w+/g)) {
      expect(existsSync(join(root, path)), path).toBe(true);
    }
    for (const [, built] of block.text.matchAll(/\bdist\/(services\/[\w/-]+)\.js/g)) {
      expect(existsSync(join(root, `${built}.ts`)), `dist/${built}.js is built from ${built}.ts`).toBe(true);
    }
  });
});

describe('walkthroughs, run against both services', () => {
  let db: TestDatabase;
  let user: Awaited<ReturnType<typeof startUser>>;
  let data: Awaited<ReturnType<typeof startData>>;

  beforeAll(async () => {
    db = await createTestDatabase('docs_commands');
    user = await startUser(db.name, { SEED_DEMO_USERS: 'true' });
    await user.migrated;
    data = await startData(db.name);
    // Ready once its LISTEN connection is up: until then it bypasses its caches, as a reader of
    // the walkthrough who waits for `make run` never sees.
    await waitFor(async () => (await fetch(`${data.url}/health/ready`)).status === 200, 15_000);
  });
  afterAll(async () => {
    await Promise.all([user?.stop(), data?.stop()]);
    await db?.drop();
  });

  it.each(blocks.filter(isWalkthrough).map((block) => [key(block), block] as const))('%s: every line answers as its comment says', async (_, block) => {
    const env = { PATH: process.env.PATH!, USER_PORT: String(user.port), DATA_PORT: String(data.port), TOKEN: await testToken('users:write users:read') };
    expect(await runWalkthrough(block, env)).toEqual([]);
  });
});
