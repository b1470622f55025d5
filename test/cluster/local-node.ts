// Shared by the tests that run on the local node (k8s-dev/local-node): its settings as the scripts
// see them, kubectl from its own build, and a snapshot of what the node may change on this machine.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '../..');
const scripts = path.join(root, 'k8s-dev/local-node');

/** The scripts' own settings (config.sh), so the tests never restate a path or an address. */
export const settings: Record<string, string> = Object.fromEntries(
  execFileSync('bash', ['-c', `source "${scripts}/config.sh" && for v in KUBE_BIN CONTAINERD_BIN CONTAINERD_SOCKET LOCAL_NODE_STATE LOCAL_NODE_RUN LOCAL_NODE_CACHE NODE_NAME NODE_IP NODE_BRIDGE POD_BRIDGE CGROUP_ROOT KUBE_CONTEXT REGISTRY_HOST; do echo "$v=\${!v}"; done`], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);

/** Why the local node cannot run here, or undefined when it can. In CI it must run: no reason is accepted. */
export function cannotRun(): string | undefined {
  if (process.platform !== 'linux') return 'the local node needs Linux';
  if (process.getuid?.() !== 0) return 'the local node needs root (make cluster-up starts containerd and the kubelet)';
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return 'the local node is built with Go, which is not installed';
  }
  return undefined;
}

export function run(command: string, args: string[], options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  return execFileSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Like run, without blocking the event loop: for commands that run while the tests send traffic. */
export function runAsync(command: string, args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: root, encoding: 'utf8', timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs a script with its output passed through, so a long cold build shows its progress. */
export function runScript(script: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): { status: number | null; stderr: string } {
  try {
    execFileSync(script, [], { cwd: root, timeout: timeoutMs, env, stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    return { status: 0, stderr: '' };
  } catch (error) {
    const failed = error as { status: number | null; stderr?: string };
    process.stderr.write(failed.stderr ?? '');
    return { status: failed.status, stderr: failed.stderr ?? '' };
  }
}

export const kubectlPath = path.join(settings.KUBE_BIN!, 'kubectl');
export function kubectl(args: string[], options: { timeoutMs?: number; input?: string } = {}): string {
  return run(kubectlPath, ['--context', settings.KUBE_CONTEXT!, ...args], options);
}

export function startKubectl(args: string[]): ChildProcess {
  return spawn(kubectlPath, ['--context', settings.KUBE_CONTEXT!, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function eventually<T>(what: string, timeoutMs: number, attempt: () => T | Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  throw new Error(`${what} within ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`);
}

const ignoreCounters = (rules: string) => rules.replace(/\[\d+:\d+\]/g, '').replace(/^#.*$/gm, '').trim();

/**
 * What the node may touch on this machine, in a form two snapshots can be compared by: processes
 * running one of its binaries, mounts under its folders, interfaces, iptables and nftables rules,
 * cgroups under its root, sysctls it sets, mount propagation, and its kubectl context.
 */
export function hostSnapshot(): Record<string, string> {
  const ours = [settings.LOCAL_NODE_CACHE!, settings.LOCAL_NODE_STATE!, settings.LOCAL_NODE_RUN!];
  const processes = run('ps', ['-eo', 'pid=,args='])
    .split('\n')
    .filter((line) => ours.some((folder) => line.includes(folder)) && !line.includes('ps -eo'))
    .join('\n');
  const mounts = run('findmnt', ['-rno', 'TARGET,PROPAGATION'])
    .split('\n')
    .filter((line) => ours.some((folder) => line.startsWith(folder)) || line.startsWith('/ '))
    .join('\n');
  const links = run('ip', ['-o', 'link', 'show'])
    .split('\n')
    .map((line) => line.split(': ')[1]?.replace(/@.*/, '') ?? '')
    .filter(Boolean)
    .sort()
    .join('\n');
  const tables = (tool: string) => {
    try {
      return ignoreCounters(run(`${tool}-save`, []));
    } catch {
      return `(${tool}-save unavailable)`;
    }
  };
  let nft = '(nft unavailable)';
  try {
    nft = run('nft', ['list', 'ruleset']).replace(/counter packets \d+ bytes \d+/g, 'counter');
  } catch {
    // Debian's iptables does not pull in nft; iptables-save shows the same rules.
  }
  const cgroups = readdirSync('/sys/fs/cgroup')
    .flatMap((hierarchy) => (existsSync(path.join('/sys/fs/cgroup', hierarchy, settings.CGROUP_ROOT!)) ? [hierarchy] : []))
    .join(',');
  const sysctls = ['net/ipv4/ip_forward', 'net/bridge/bridge-nf-call-iptables'].map((key) => `${key}=${existsSync(`/proc/sys/${key}`) ? run('cat', [`/proc/sys/${key}`]).trim() : '-'}`).join(' ');
  let contexts = '';
  try {
    contexts = run(kubectlPath, ['config', 'get-contexts', '-o', 'name']).split('\n').filter((name) => name === settings.KUBE_CONTEXT).join('');
  } catch {
    contexts = '(no kubeconfig)';
  }
  return { processes, mounts, links, iptables: tables('iptables'), ip6tables: tables('ip6tables'), nft, cgroups, sysctls, contexts, folders: [settings.LOCAL_NODE_STATE!, settings.LOCAL_NODE_RUN!].filter((folder) => existsSync(folder)).join(',') };
}

/**
 * make cluster-down at the end of a test file that started the node, so the next file (and the
 * machine) starts from nothing. KEEP_LOCAL_NODE=1 leaves it running, to look at what a failed test
 * left behind or to run one file again without the start.
 */
export function stopNode(): void {
  if (process.env.KEEP_LOCAL_NODE === '1') return;
  runScript('k8s-dev/local-node/down.sh', 300_000);
}
