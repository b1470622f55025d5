// Every ```sh block of README.md and docs/*.md, so the pages cannot drift from what the project does.
// Blocks of curl lines run for real against both services (started here on a scratch database
// with the demo users), and each line's comment is a promise the answer must keep: the status it
// names, each `Header: value` and each `"field": value` it quotes, and "problem+json". Blocks that
// need a cluster, Docker or the whole suite are checked for shape instead: bash parses them, each
// `make` target and `npm run` script they name exists, and so does each repository path.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { startData, startUser, testToken, waitFor } from './support/services.ts';

const root = join(import.meta.dirname, '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

interface Block {
  page: string;
  /** The heading the block stands under. */
  section: string;
  text: string;
}

function blocksOf(page: string): Block[] {
  const blocks: Block[] = [];
  let section = '';
  let open: string[] | undefined;
  for (const line of readFileSync(join(root, page), 'utf8').split('\n')) {
    if (open) {
      if (line.startsWith('```')) {
        blocks.push({ page, section, text: open.join('\n') });
        open = undefined;
      } else open.push(line);
    } else if (line.startsWith('```sh')) open = [];
    else if (/^#{1,4} /.test(line)) section = line.replace(/^#+ /, '');
  }
  return blocks;
}

const blocks = pages.flatMap(blocksOf);
const key = ({ page, section }: Block) => `${page} § ${section}`;

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

/** One command per logical line (backslash continuations joined), with the comment after it. */
function commandsOf(text: string): { command: string; comment: string }[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'))
    .map((line) => {
      const at = line.search(/\s#\s/);
      return at < 0 ? { command: line.trim(), comment: '' } : { command: line.slice(0, at).trim(), comment: line.slice(at).replace(/^\s*#\s*/, '') };
    });
}

const isWalkthrough = (block: Block) => commandsOf(block.text).every(({ command }) => /^curl\s|^[A-Z]+=\S+( [A-Z]+=\S+)*$/.test(command));

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
    const commands = commandsOf(block.text);
    // One shell for the block, so its variables carry from line to line; a marker before each answer.
    const script = commands.map(({ command }, i) => `printf '\\n@@@ ${i}\\n'; ${command}`).join('\n');
    const env = { PATH: process.env.PATH!, USER_PORT: String(user.port), DATA_PORT: String(data.port), TOKEN: await testToken('users:write users:read') };
    // Not spawnSync: the services answer from this process's event loop.
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('bash', ['--norc', '--noprofile', '-c', script], { env, encoding: 'utf8' }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    const outputs = run.stdout.split(/\n@@@ \d+\n/).slice(1);
    expect(outputs).toHaveLength(commands.length);

    const broken: string[] = [];
    commands.forEach(({ command, comment }, i) => {
      if (!command.startsWith('curl')) return;
      const answer = parseAnswer(outputs[i]!);
      const claims = claimsOf(comment);
      if (claims.length === 0) broken.push(`${command}: its comment promises nothing checkable`);
      for (const claim of claims) {
        const failure = claim(answer);
        if (failure) broken.push(`${command}  # ${comment}: ${failure}`);
      }
    });
    expect(broken).toEqual([]);
  });
});

interface Answer {
  status?: number;
  headers?: Headers;
  body: string;
}

/** curl's output: a status line and headers first with -i, a bare status code with -w '%{http_code}'. */
function parseAnswer(output: string): Answer {
  if (output.startsWith('HTTP/')) {
    const [head = '', body = ''] = output.split(/\r\n\r\n(.*)/s);
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers = new Headers(lines.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }
  if (/^\d{3}\n?$/.test(output)) return { status: Number(output.trim()), body: '' };
  return { body: output };
}

function json(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** What a comment promises, each as a check that returns what is wrong (or nothing). */
function claimsOf(comment: string): ((answer: Answer) => string | undefined)[] {
  const claims: ((answer: Answer) => string | undefined)[] = [];
  const status = /^(\d{3})\b/.exec(comment)?.[1];
  if (status) {
    claims.push(({ status: seen, body }) => {
      // Without -i, a problem says its status itself, and any other JSON answer is a 200.
      const parsed = json(body);
      const actual = seen ?? (typeof parsed?.status === 'number' ? parsed.status : parsed ? 200 : undefined);
      return actual === Number(status) ? undefined : `status ${actual}, not ${status}`;
    });
  }
  for (const [, name, value] of comment.matchAll(/\b([A-Z][A-Za-z]*(?:-[A-Z][A-Za-z]*)*): ([^\s,;()]+)/g)) {
    claims.push(({ headers }) => {
      if (!headers) return `${name} is promised, but the line does not show headers (curl -i)`;
      const seen = headers.get(name!);
      return seen?.startsWith(value!) ? undefined : `${name}: ${seen}`;
    });
  }
  for (const [, field, literal] of comment.matchAll(/"(\w+)": (true|false|-?\d+|"[^"<]*")/g)) {
    claims.push(({ body }) => {
      const seen = json(body)?.[field!];
      return JSON.stringify(seen) === literal ? undefined : `"${field}" is ${JSON.stringify(seen)}`;
    });
  }
  if (/problem\+json/.test(comment)) {
    claims.push(({ headers, body }) => {
      if (headers && headers.get('content-type') !== 'application/problem+json') return `content-type ${headers.get('content-type')}`;
      const problem = json(body);
      return problem && typeof problem.title === 'string' && typeof problem.detail === 'string' ? undefined : 'not a problem document';
    });
  }
  return claims;
}
