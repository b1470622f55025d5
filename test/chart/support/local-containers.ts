// Runs the containers of rendered pods the way the kubelet would, with the environment computed by
// kubelet-env.ts, in one of two runtimes:
// - docker (when a docker command answers): the real images, with the container's securityContext
//   (user, read-only root, dropped capabilities), /tmp as the emptyDir, on the host network;
// - node (otherwise): node processes with the image's CMD and ENV read from Dockerfile.user /
//   Dockerfile.data and the repository root as the working directory (it holds dist/ and
//   node_modules/, as /app does in the image).
// In both, every "pod" shares this host, so the listening PORT is mapped to a free host port.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { docker, dockerOk } from '../../../scripts/images/docker.ts';
import { repoRoot } from './helm.ts';
import { resolvePort, type Container, type Probe } from './kubelet-env.ts';

const nodeBinary = join(repoRoot, 'node_modules/.bin/node');

/** CMD and ENV of the final stage of the Dockerfile that builds `image`. */
export function imageConfig(image: string): { cmd: string[]; env: Record<string, string> } {
  const repository = image.split('/').at(-1)!.split(':')[0]!;
  const dockerfile = { 'user-service': 'Dockerfile.user', 'data-service': 'Dockerfile.data' }[repository];
  if (!dockerfile) throw new Error(`no Dockerfile known for image ${image}`);
  const text = readFileSync(join(repoRoot, dockerfile), 'utf8').replace(/\\\r?\n/g, ' ');
  const finalStage = text.split(/^FROM\s/m).at(-1)!;
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(finalStage);
  if (!cmd) throw new Error(`${dockerfile}: no exec-form CMD in the final stage`);
  const env: Record<string, string> = {};
  for (const line of finalStage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of line[1]!.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[pair[1]!] = pair[2]!.replace(/^"|"$/g, '');
  }
  return { cmd: JSON.parse(cmd[1]!) as string[], env };
}

export { freePort } from '../../../scripts/free-port.ts';

export type Runtime = 'docker' | 'node';

/** docker when one answers (CONTRACT_RUNTIME=node forces node processes), else node. */
export async function detectRuntime(): Promise<Runtime> {
  if (process.env.CONTRACT_RUNTIME === 'node') return 'node';
  const answer = await docker(['info'], { timeoutMs: 180_000 }).catch(() => undefined);
  return answer?.code === 0 ? 'docker' : 'node';
}

const dockerfiles: Record<string, string> = { 'user-service': 'Dockerfile.user', 'data-service': 'Dockerfile.data' };

/** Builds each image under the exact name the manifests use. */
export async function buildImages(images: Iterable<string>): Promise<void> {
  for (const image of new Set(images)) {
    const repository = image.split('/').at(-1)!.split(':')[0]!;
    const dockerfile = dockerfiles[repository];
    if (!dockerfile) throw new Error(`no Dockerfile known for image ${image}`);
    await dockerOk(['build', '--file', dockerfile, '--tag', image, '.'], { cwd: repoRoot, timeoutMs: 600_000 });
  }
}

let runtime: Runtime = 'node';
const containerIds = `contract-${process.pid}-${Date.now().toString(36)}`;
let started = 0;

export function useRuntime(chosen: Runtime): void {
  runtime = chosen;
}

export interface LocalContainer {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  /** Host port per containerPort (8080 → PORT, 9464 → METRICS_PORT). */
  ports: Map<number, number>;
  spec: Container;
  /** Stops it at once, whatever it is doing (test clean-up). */
  remove(): Promise<void>;
}

/** Starts one container. `env` is what the kubelet computed; `portMap` maps containerPort → host port. */
export function startContainer(spec: Container, env: Record<string, string>, portMap: Map<number, number> = new Map()): LocalContainer {
  const containerEnv = { ...env };
  // Each declared port is set by a variable (PORT, METRICS_PORT); point it at the mapped host port.
  for (const variable of ['PORT', 'METRICS_PORT']) {
    const port = containerEnv[variable] ?? (runtime === 'node' ? imageConfig(spec.image).env[variable] : undefined);
    const listening = spec.ports?.find((p) => String(p.containerPort) === port);
    if (!listening) continue;
    const hostPort = portMap.get(listening.containerPort);
    if (!hostPort) throw new Error(`${spec.name}: no host port mapped for ${listening.containerPort}`);
    containerEnv[variable] = String(hostPort);
  }
  const { child, remove } = runtime === 'docker' ? runImage(spec, containerEnv) : runNode(spec, containerEnv);
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name: spec.name, child, output, exited, ports: portMap, spec, remove: () => remove(exited) };
}

function runNode(spec: Container, env: Record<string, string>) {
  const image = imageConfig(spec.image);
  // Kubernetes: `command` replaces the image's entrypoint/CMD; args are appended.
  const argv = [...(spec.command ?? image.cmd), ...(spec.args ?? [])];
  if (argv[0] !== 'node') throw new Error(`${spec.name}: only node commands run locally, got ${argv[0]}`);
  const child = spawn(nodeBinary, argv.slice(1), { cwd: repoRoot, env: { ...image.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const remove = async (exited: Promise<unknown>) => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, remove };
}

/** `docker run` in the foreground: its exit code is the container's, and it forwards signals. */
function runImage(spec: Container, env: Record<string, string>) {
  const name = `${containerIds}-${++started}-${spec.name}`;
  const security = (spec.securityContext ?? {}) as {
    runAsUser?: number;
    runAsGroup?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  const args = ['run', '--rm', '--name', name, '--network', 'host', '--tmpfs', '/tmp'];
  if (security.runAsUser !== undefined) args.push('--user', `${security.runAsUser}:${security.runAsGroup ?? security.runAsUser}`);
  if (security.readOnlyRootFilesystem) args.push('--read-only');
  if (security.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  for (const capability of security.capabilities?.drop ?? []) args.push('--cap-drop', capability);
  for (const [key, value] of Object.entries(env)) args.push('--env', `${key}=${value}`);
  if (spec.command) args.push('--entrypoint', spec.command[0]!);
  args.push(spec.image, ...(spec.command?.slice(1) ?? []), ...(spec.args ?? []));
  const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const remove = async (exited: Promise<unknown>) => {
    await docker(['rm', '--force', name], { timeoutMs: 60_000 }).catch(() => undefined);
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { child, remove };
}

export const tail = (container: LocalContainer, lines = 15): string =>
  `--- last output of ${container.name} ---\n${container.output.slice(-lines).join('\n')}`;

/** Runs an init container to completion, as the kubelet does before the next one starts. */
export async function runToCompletion(spec: Container, env: Record<string, string>, timeoutMs: number): Promise<LocalContainer> {
  const container = startContainer(spec, env);
  const timer = setTimeout(() => void container.remove(), timeoutMs);
  const code = await container.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`init container ${spec.name} exited ${code}\n${tail(container)}`);
  return container;
}

/** One HTTP probe as the kubelet sends it: success is a status in [200, 400). */
export async function probeOnce(container: LocalContainer, probe: Probe): Promise<number | string> {
  const target = probe.httpGet!;
  const hostPort = container.ports.get(resolvePort(container.spec, target.port));
  if (!hostPort) throw new Error(`${container.name}: probe port ${target.port} is not mapped`);
  try {
    const response = await fetch(`http://127.0.0.1:${hostPort}${target.path}`, { signal: AbortSignal.timeout((probe.timeoutSeconds ?? 1) * 1000) });
    await response.body?.cancel();
    return response.status;
  } catch (error) {
    return (error as Error).message;
  }
}

export const probeSucceeded = (result: number | string): boolean => typeof result === 'number' && result >= 200 && result < 400;

/**
 * Polls a probe until it succeeds, within the budget the manifest declares
 * (initialDelaySeconds + periodSeconds × failureThreshold). Polls faster than periodSeconds: the
 * budget, not the cadence, is what the manifest promises.
 */
export async function untilProbeSucceeds(container: LocalContainer, probe: Probe): Promise<number> {
  const budgetMs = ((probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)) * 1000;
  const started = Date.now();
  let last: number | string = 'not probed';
  while (Date.now() - started < budgetMs) {
    last = await probeOnce(container, probe);
    if (probeSucceeded(last)) return Date.now() - started;
    if (container.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${container.name}: ${probe.httpGet!.path} did not succeed within ${budgetMs} ms (last: ${last})\n${tail(container)}`);
}
