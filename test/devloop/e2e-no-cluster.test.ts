// `npm run e2e` on a machine without a cluster: one line that says so, and exit 77 (skipped),
// never a stack trace and never the failure code 1.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_NO_CLUSTER } from '../../e2e/exit-codes.ts';
import { freePort } from '../../scripts/free-port.ts';
import { repoRoot } from './support/repo.ts';
import { kubeconfigFor } from './support/kubeconfig.ts';

const run = promisify(execFile);

async function npmRunE2e(env: NodeJS.ProcessEnv): Promise<{ code: number; lines: string[] }> {
  const result = await run('npm', ['run', 'e2e'], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 20_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  // Keep only what e2e printed: npm adds its own banner ("> pkg e2e", "> node e2e/main.ts") and warnings.
  const lines = `${result.stdout}\n${result.stderr}`.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('>') && !line.startsWith('npm '));
  return { code: result.code, lines };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Sockets first, then their servers: a server closes only once its connections are gone.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('npm run e2e without a reachable cluster', () => {
  it('says so in one line and exits 77 when the API server refuses connections', async () => {
    const port = await freePort(18390, 18399);
    const { code, lines } = await npmRunE2e({ KUBECONFIG: kubeconfigFor(`https://127.0.0.1:${port}`, 'nowhere') });
    expect(code).toBe(EXIT_NO_CLUSTER);
    expect(code).toBe(77);
    expect(lines).toEqual([
      `e2e: skipped, no reachable Kubernetes cluster: context "kind-nowhere" at https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    ]);
  });

  it('says so in one line and exits 77 when no kubeconfig exists', async () => {
    const missing = path.join(tmpdir(), 'devloop-no-such-kubeconfig');
    const { code, lines } = await npmRunE2e({ KUBECONFIG: missing });
    expect(code).toBe(77);
    expect(lines).toEqual([`e2e: skipped, no reachable Kubernetes cluster: no kubeconfig file exists at ${missing}`]);
  });

  it('says so in one line and exits 77 when the kubeconfig has no current context', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'devloop-kubeconfig-')), 'config');
    writeFileSync(file, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const { code, lines } = await npmRunE2e({ KUBECONFIG: file });
    expect(code).toBe(77);
    expect(lines).toEqual(['e2e: skipped, no reachable Kubernetes cluster: the kubeconfig has no current context with a cluster']);
  });

  it('says so and exits 77 when something accepts connections but never answers', async () => {
    const port = await freePort(18380, 18389);
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => silent.close(() => resolve())));
    silent.on('connection', (socket) => cleanups.push(async () => void socket.destroy()));
    const { code, lines } = await npmRunE2e({ KUBECONFIG: kubeconfigFor(`https://127.0.0.1:${port}`, 'nowhere'), E2E_CONNECT_TIMEOUT_MS: '500' });
    expect(code).toBe(77);
    expect(lines).toEqual([`e2e: skipped, no reachable Kubernetes cluster: context "kind-nowhere" at https://127.0.0.1:${port}: no answer within 500 ms`]);
  });

  it('fails with exit 1, not 77, when a server answers but the connection is wrong (TLS to a plain HTTP port)', async () => {
    const port = await freePort(18380, 18389);
    const plain = createServer((_, response) => response.end('{}'));
    await new Promise<void>((resolve) => plain.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => plain.close(() => resolve())));
    const { code, lines } = await npmRunE2e({ KUBECONFIG: kubeconfigFor(`https://127.0.0.1:${port}`, 'nowhere') });
    expect(code).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^e2e: FAILED: context "kind-nowhere" at https://127\\.0\\.0\\.1:${port}: .*(SSL|TLS|wrong version)`, 'i'));
  });

  it('fails with exit 1, not 77, when the API server refuses the credentials', async () => {
    const port = await freePort(18380, 18389);
    const api = createServer((_, response) => {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
    });
    await new Promise<void>((resolve) => api.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => api.close(() => resolve())));
    // Plain http needs skip-verify with this client; this fake API server has no TLS.
    const { code, lines } = await npmRunE2e({ KUBECONFIG: kubeconfigFor(`http://127.0.0.1:${port}`, 'nowhere') });
    expect(code).toBe(1);
    expect(lines).toEqual([`e2e: FAILED: the API server at http://127.0.0.1:${port} answered 401`]);
  });

  it('fails with exit 1, not 77, on a bad setting: that is a mistake, not a missing cluster', async () => {
    const { code, lines } = await npmRunE2e({ KUBECONFIG: kubeconfigFor('https://127.0.0.1:18399', 'nowhere'), E2E_TIMEOUT_SECONDS: 'soon' });
    expect(code).toBe(1);
    expect(lines).toEqual(['e2e: FAILED: E2E_TIMEOUT_SECONDS must be a non-negative integer, got "soon"']);
  });
});
