// The command blocks of README.md and docs/*.md, and how a walkthrough (a block of curl lines) is
// run and judged: each line's comment is a promise the answer must keep — the status it names,
// each `Header: value` and each `"field": value` it quotes, and "problem+json". Used by
// test/docs-commands.test.ts against services started here, and by the cluster tests against the
// release through `kubectl port-forward`, so both read the pages' own text, never a copy.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '../..');
export const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

export interface Block {
  page: string;
  /** The heading the block stands under. */
  section: string;
  text: string;
}

export function blocksOf(page: string): Block[] {
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

export const blocks = pages.flatMap(blocksOf);
export const key = ({ page, section }: Block) => `${page} § ${section}`;

/** The block under a heading of a page; throws when the page has none there, so a renamed heading is noticed. */
export function blockUnder(page: string, section: string): Block {
  const found = blocks.find((block) => block.page === page && block.section === section);
  if (!found) throw new Error(`${page} has no sh block under "${section}"`);
  return found;
}

/** One command per logical line (backslash continuations joined), with the comment after it. */
export function commandsOf(text: string): { command: string; comment: string }[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'))
    .map((line) => {
      const at = line.search(/\s#\s/);
      return at < 0 ? { command: line.trim(), comment: '' } : { command: line.slice(0, at).trim(), comment: line.slice(at).replace(/^\s*#\s*/, '') };
    });
}

export const isWalkthrough = (block: Block) => commandsOf(block.text).every(({ command }) => /^curl\s|^[A-Z]+=\S+( [A-Z]+=\S+)*$/.test(command));

/**
 * Runs a walkthrough in one bash (its variables carry from line to line) with the environment
 * given, and returns what is wrong: each line whose answer breaks its comment's promise. Async, so
 * services answering from the caller's own event loop can answer.
 */
export async function runWalkthrough(block: Block, env: NodeJS.ProcessEnv): Promise<string[]> {
  const commands = commandsOf(block.text);
  const script = commands.map(({ command }, i) => `printf '\\n@@@ ${i}\\n'; ${command}`).join('\n');
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('bash', ['--norc', '--noprofile', '-c', script], { env, encoding: 'utf8' }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
  if (run.code !== 0) return [`bash exited ${run.code}: ${run.stderr.trim()}`];
  const outputs = run.stdout.split(/\n@@@ \d+\n/).slice(1);
  if (outputs.length !== commands.length) return [`${outputs.length} answers for ${commands.length} lines`];
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
  return broken;
}

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
