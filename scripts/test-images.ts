// `npm run test:images`: builds both images with the `docker` on PATH and runs them the way the
// chart will (non-root, any uid, read-only root filesystem, no capabilities) against the real
// PostgreSQL and Redis, on a scratch database and key prefix. Exits non-zero on any failed check.
//
// Containers use the host network, so a service listening on PORT is at 127.0.0.1:PORT and reaches
// PostgreSQL/Redis where this script does (PGHOST/REDIS_HOST, default 127.0.0.1).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runUserFlow } from '../e2e/flow.ts';
import { contentsProbeSource, type ImageContents } from './images/contents-probe.ts';
import { docker, dockerOk, tail } from './images/docker.ts';
import { createReport } from './images/report.ts';
import { createScratchBackends, type ScratchBackends } from './scratch-backends.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  repository?: string | { url?: string };
};
// Packages the lockfile marks as needed only for development (some devDependencies, like yaml,
// are also needed at run time by a production dependency, so the names alone would mislead).
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
const devOnlyPackages = Object.entries(lock.packages).filter(([path, entry]) => path && entry.dev).map(([path]) => path);

// This test's ports (one per container it starts).
const ports = { user: 18201, data: 18202, dataAnyUid: 18203 };
/** METRICS_PORT of the container listening on `port`: host networking, so each needs its own. */
const metricsPortOf = (port: number) => port + 10;
/** The token `npm run token` minted inside the image (signed with the scratch JWT_SECRET). */
let token = '';

// How the chart runs the containers: the service's own uid, and an arbitrary one (OpenShift-style).
const serviceUser = '1000:1000';
const arbitraryUser = '12345:0';
const hardening = ['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];
const stopBudgetMs = 2_000;

interface ImageUnderTest {
  service: 'user' | 'data';
  name: string;
  dockerfile: string;
  id?: string;
}

const images: Record<'user' | 'data', ImageUnderTest> = {
  user: { service: 'user', name: 'user-service', dockerfile: 'Dockerfile.user' },
  data: { service: 'data', name: 'data-service', dockerfile: 'Dockerfile.data' },
};

const report = createReport();
const containers: string[] = [];
const runId = `test-images-${process.pid}`;

const labels = buildLabels();
let backends: ScratchBackends | undefined;
// Ctrl-C still removes the containers and the scratch database.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: removing the containers and the scratch database`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  const taken: number[] = [];
  for (const port of Object.values(ports)) if (await isListening(port)) taken.push(port);
  if (taken.length) throw new Error(`port(s) ${taken.join(', ')} already in use; the test would talk to someone else's server`);
  for (const image of Object.values(images)) await buildImage(image);
  for (const image of Object.values(images)) await inspectImage(image);
  backends = await createScratchBackends('test_images');
  await runContainers(backends);
} catch (error) {
  report.fail('stopped early (later checks skipped)', error);
} finally {
  await cleanUp();
}
await printSizes();

console.log(`images: ${report.passed()} passed, ${report.failed()} failed`);
process.exitCode = report.failed() === 0 ? 0 : 1;

/** Builds one image; a failed build ends the run, since nothing after it can pass. */
async function buildImage(image: ImageUnderTest): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'test-images-'));
  const iidFile = join(work, 'iid');
  const started = Date.now();
  try {
    const args = ['build', '--file', image.dockerfile, '--tag', `${image.name}:${pkg.version}`, '--tag', `${image.name}:latest`, '--iidfile', iidFile];
    for (const [key, value] of Object.entries(labels)) {
      // Also as --label: some builders (podman 4) reuse a cached LABEL step after its ARG changed.
      args.push('--build-arg', `${key}=${value}`, '--label', `org.opencontainers.image.${key.toLowerCase()}=${value}`);
    }
    const result = await docker([...args, '.'], { cwd: repoRoot, timeoutMs: 15 * 60_000 });
    if (result.code !== 0) throw new Error(`docker build -f ${image.dockerfile} failed:\n${tail(result.stdout + result.stderr, 40)}`);
    // Later steps use the image id, so a concurrent build of the same tag cannot swap the image.
    image.id = (await readFile(iidFile, 'utf8')).trim();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await report.check(`${image.name}: builds from ${image.dockerfile}`, async () => `${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** What the image declares, and what it holds as seen from inside by an arbitrary uid. */
async function inspectImage(image: ImageUnderTest): Promise<void> {
  const id = image.id!;
  const config = JSON.parse(await dockerOk(['image', 'inspect', '--format', '{{json .Config}}', id])) as {
    User?: string;
    Env?: string[];
    Cmd?: string[];
    Entrypoint?: string[] | null;
    Labels?: Record<string, string>;
  };

  await report.check(`${image.name}: runs as a numeric non-root user`, async () => {
    if (!/^[1-9]\d*(:\d+)?$/.test(config.User ?? '')) throw new Error(`USER is ${JSON.stringify(config.User)}`);
    return `USER ${config.User}`;
  });
  await report.check(`${image.name}: PORT=8080 and NODE_ENV=production`, async () => {
    for (const wanted of ['PORT=8080', 'NODE_ENV=production']) {
      if (!config.Env?.includes(wanted)) throw new Error(`${wanted} missing from ${JSON.stringify(config.Env)}`);
    }
  });
  await report.check(`${image.name}: node is the command itself (PID 1 gets SIGTERM)`, async () => {
    const wanted = ['node', `dist/services/${image.service}/src/main.js`];
    if (config.Entrypoint?.length) throw new Error(`unexpected ENTRYPOINT ${JSON.stringify(config.Entrypoint)}`);
    if (JSON.stringify(config.Cmd) !== JSON.stringify(wanted)) throw new Error(`CMD is ${JSON.stringify(config.Cmd)}`);
  });
  await report.check(`${image.name}: OCI labels name the source and version`, async () => {
    const expected = {
      // title comes only from the Dockerfile, so this also proves its LABEL instruction is there.
      'org.opencontainers.image.title': image.name,
      'org.opencontainers.image.source': labels.SOURCE,
      'org.opencontainers.image.version': labels.VERSION,
      'org.opencontainers.image.revision': labels.REVISION,
    };
    for (const [key, value] of Object.entries(expected)) {
      if (config.Labels?.[key] !== value) throw new Error(`${key} is ${JSON.stringify(config.Labels?.[key])}, expected ${JSON.stringify(value)}`);
    }
    return `version ${labels.VERSION}`;
  });

  const other = image.service === 'user' ? 'data' : 'user';
  const probe = await docker([
    'run', '--rm', '--network', 'host', '--user', arbitraryUser, ...hardening,
    '--env', `DEV_ONLY_PACKAGES=${JSON.stringify(devOnlyPackages)}`,
    '--env', `OTHER_SERVICE=${other}`,
    id, 'node', '-e', contentsProbeSource,
  ]);
  const contents = probe.code === 0 ? (JSON.parse(probe.stdout) as ImageContents) : undefined;
  const seen = async () => {
    if (!contents) throw new Error(`the probe exited ${probe.code}:\n${tail(probe.stderr, 20)}`);
    return contents;
  };

  await report.check(`${image.name}: Node 24`, async () => {
    const { node } = await seen();
    if (!node.startsWith('v24.')) throw new Error(`node ${node}`);
    return node;
  });
  await report.check(`${image.name}: every file readable by an arbitrary uid (${arbitraryUser})`, async () => {
    const { unreadable, files, uid } = await seen();
    if (uid !== 12345) throw new Error(`the probe ran as uid ${uid}`);
    if (unreadable.length) throw new Error(`${unreadable.length} unreadable, e.g. ${unreadable.slice(0, 5).join(', ')}`);
    return `${files} entries`;
  });
  await report.check(`${image.name}: no file writable by the service (root-owned, no group/other write)`, async () => {
    const { writableByService } = await seen();
    if (writableByService.length) throw new Error(`${writableByService.length} writable, e.g. ${writableByService.slice(0, 5).join(', ')}`);
  });
  await report.check(`${image.name}: only compiled code and production dependencies`, async () => {
    const { leftovers } = await seen();
    if (leftovers.length) throw new Error(`found ${leftovers.slice(0, 10).join(', ')}`);
  });
  await report.check(`${image.name}: read-only root filesystem, writable /tmp`, async () => {
    const { appWrite, tmpWrite } = await seen();
    if (appWrite === 'written') throw new Error('wrote into /app under --read-only');
    if (tmpWrite !== 'written') throw new Error(`cannot write /tmp: ${tmpWrite}`);
    return `/app: ${appWrite}`;
  });
}

async function runContainers(scratch: ScratchBackends): Promise<void> {
  const user = images.user.id!;
  const data = images.data.id!;

  // The chart's migration step: the CLI alone, as an arbitrary uid, before any service starts.
  await report.check('user-service: migrate CLI applies the schema (uid 12345:0, read-only)', async () => {
    const result = await runOnce(user, arbitraryUser, scratch, ['node', 'dist/services/user/src/migrate-cli.js']);
    if (result.code !== 0) throw new Error(`exited ${result.code}:\n${tail(result.stdout + result.stderr, 20)}`);
    if (!/"migrations applied"/.test(result.stdout)) throw new Error(`no "migrations applied" log line:\n${tail(result.stdout, 10)}`);
  });
  await report.check('user-service: `npm run migrate` in the image is idempotent', async () => {
    const result = await runOnce(user, serviceUser, scratch, ['npm', 'run', 'migrate']);
    if (result.code !== 0) throw new Error(`exited ${result.code}:\n${tail(result.stdout + result.stderr, 20)}`);
    if (!/"schema already current"/.test(result.stdout)) throw new Error(`expected "schema already current":\n${tail(result.stdout, 10)}`);
  });

  // data-service first: it applies no migrations, so its readiness proves the CLI's schema.
  const dataName = await start(data, 'data', serviceUser, ports.data, scratch);
  await checkHealth('data-service', dataName, ports.data);
  const userName = await start(user, 'user', serviceUser, ports.user, scratch, { MIGRATE_ON_START: 'true' });
  await checkHealth('user-service', userName, ports.user);

  for (const [label, name] of [['user-service', userName], ['data-service', dataName]] as const) {
    await report.check(`${label}: node is PID 1 as uid 1000`, async () => {
      const cmdline = (await dockerOk(['exec', name, 'cat', '/proc/1/cmdline'])).split('\0').filter(Boolean);
      const status = await dockerOk(['exec', name, 'cat', '/proc/1/status']);
      const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (cmdline[0] !== 'node') throw new Error(`PID 1 is ${cmdline.join(' ')}`);
      if (uid !== '1000') throw new Error(`PID 1 runs as uid ${uid}`);
      return cmdline.join(' ');
    });
  }

  const userUrl = `http://127.0.0.1:${ports.user}`;
  const dataUrl = `http://127.0.0.1:${ports.data}`;
  await report.check('both: /metrics on METRICS_PORT only, not on the API port', async () => {
    for (const port of [ports.user, ports.data]) {
      const scraped = await fetch(`http://127.0.0.1:${metricsPortOf(port)}/metrics`, { signal: AbortSignal.timeout(5_000) });
      if (scraped.status !== 200 || !(await scraped.text()).includes('http_server_request_duration_seconds')) throw new Error(`metrics port of ${port}: ${scraped.status}, without the request histogram`);
      const api = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
      await api.body?.cancel();
      if (api.status !== 404) throw new Error(`API port ${port} answered /metrics with ${api.status}`);
    }
  });
  await report.check('user-service: `npm run token` in the image mints a token; a write without one is refused', async () => {
    const result = await runOnce(user, serviceUser, scratch, ['npm', 'run', '-s', 'token', '--', '--scope', 'users:write users:read', '--ttl', '10m']);
    if (result.code !== 0) throw new Error(`exited ${result.code}:\n${tail(result.stderr, 10)}`);
    token = result.stdout.trim();
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error(`stdout is not only a token: ${tail(result.stdout, 3)}`);
    await expectStatus(`${userUrl}/register`, 401, { method: 'POST', body: JSON.stringify({ name: 'no-token', info: '' }) }, '');
  });
  await report.check('register → get → update → get → delete → get across both containers', async () => {
    const steps = await runUserFlow({ userUrl, dataUrl, coherenceTimeoutMs: 5_000, token });
    return steps.map((s) => `${s.step} ${s.ms} ms`).join(', ');
  });
  await report.check('data-service cached in the scratch Redis prefix', async () => {
    // The flow saw "cached": true; this shows the cache is the scratch Redis, not only the process.
    const flowName = `images-${Date.now().toString(36)}`;
    await expectStatus(`${userUrl}/register`, 201, { method: 'POST', body: JSON.stringify({ name: flowName, info: 'cached' }) });
    await expectStatus(`${dataUrl}/user/${flowName}`, 200);
    const keys = await scratch.countKeys();
    if (keys === 0) throw new Error(`no key under ${scratch.keyPrefix}`);
    return `${keys} key(s)`;
  });

  // The same data image under an arbitrary uid, as OpenShift's restricted SCC would run it.
  const otherUidName = await start(data, 'data-any-uid', arbitraryUser, ports.dataAnyUid, scratch);
  await checkHealth('data-service (uid 12345:0)', otherUidName, ports.dataAnyUid);
  await report.check('data-service (uid 12345:0): serves a user written through user-service', async () => {
    const name = `any-uid-${Date.now().toString(36)}`;
    await expectStatus(`${userUrl}/register`, 201, { method: 'POST', body: JSON.stringify({ name, info: 'seen by any uid' }) });
    const body = (await expectStatus(`http://127.0.0.1:${ports.dataAnyUid}/user/${name}`, 200)) as { info?: string };
    if (body.info !== 'seen by any uid') throw new Error(`info is ${JSON.stringify(body.info)}`);
  });

  for (const [label, name] of [['user-service', userName], ['data-service', dataName], ['data-service (uid 12345:0)', otherUidName]] as const) {
    await report.check(`${label}: SIGTERM stops it with exit 0 in under ${stopBudgetMs / 1000} s`, () => stopsOnSigterm(name));
  }
}

/** Starts a service container and waits until it listens; throws (ending the run) if it cannot. */
async function start(image: string, role: string, user: string, port: number, scratch: ScratchBackends, extraEnv: Record<string, string> = {}): Promise<string> {
  if (await isListening(port)) throw new Error(`port ${port} is already in use; the test would talk to someone else's server`);
  const name = `${runId}-${role}`;
  containers.push(name);
  await dockerOk(['run', '--detach', '--name', name, '--network', 'host', '--user', user, ...hardening,
    ...envArgs({ ...scratch.env, PORT: String(port), METRICS_PORT: String(metricsPortOf(port)), LOG_LEVEL: 'warn', ...extraEnv }), image]);
  const deadline = Date.now() + 30_000;
  while (!(await isListening(port))) {
    const state = JSON.parse(await dockerOk(['inspect', '--format', '{{json .State}}', name])) as { Running: boolean; ExitCode: number };
    if (!state.Running || Date.now() > deadline) {
      const logs = await docker(['logs', name]);
      throw new Error(`${role} container ${state.Running ? 'not listening after 30 s' : `exited ${state.ExitCode}`}:\n${tail(logs.stdout + logs.stderr, 20)}`);
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  return name;
}

async function checkHealth(label: string, container: string, port: number): Promise<void> {
  for (const path of ['/health', '/health/ready']) {
    await report.check(`${label}: GET ${path} answers 200`, async () => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) });
      const text = await res.text();
      if (res.status !== 200) {
        const logs = await docker(['logs', container]);
        throw new Error(`${res.status} ${text}\n${tail(logs.stdout + logs.stderr, 10)}`);
      }
    });
  }
}

/** SIGTERM, then the time until the container had exited, taken from the engine's own record. */
async function stopsOnSigterm(container: string): Promise<string> {
  const sent = Date.now();
  await dockerOk(['kill', '--signal', 'TERM', container]);
  const waited = await docker(['wait', container], { timeoutMs: 15_000 });
  if (waited.timedOut) throw new Error('still running 15 s after SIGTERM: the signal is not handled');
  const state = JSON.parse(await dockerOk(['inspect', '--format', '{{json .State}}', container])) as { ExitCode: number; FinishedAt: string };
  const finished = Date.parse(state.FinishedAt);
  const elapsedMs = Number.isNaN(finished) ? Date.now() - sent : finished - sent;
  if (state.ExitCode !== 0) throw new Error(`exit code ${state.ExitCode}`);
  if (elapsedMs >= stopBudgetMs) throw new Error(`took ${elapsedMs} ms`);
  return `exit 0 after ${elapsedMs} ms`;
}

async function runOnce(image: string, user: string, scratch: ScratchBackends, command: string[]) {
  return docker(['run', '--rm', '--network', 'host', '--user', user, ...hardening, ...envArgs(scratch.env), image, ...command], { timeoutMs: 60_000 });
}

async function expectStatus(url: string, status: number, init: RequestInit = {}, bearer = token): Promise<unknown> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(bearer && { authorization: `Bearer ${bearer}` }) };
  const res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (res.status !== status) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
}

function isListening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('error', () => done(false));
  });
}

async function cleanUp(): Promise<void> {
  for (const name of containers) await docker(['rm', '--force', name]).catch(() => undefined);
  try {
    await backends?.dispose();
  } catch (error) {
    report.fail('clean-up of the scratch database and key prefix', error);
  }
}

async function printSizes(): Promise<void> {
  const base = /^ARG NODE_IMAGE=(\S+)/m.exec(readFileSync(join(repoRoot, images.user.dockerfile), 'utf8'))?.[1];
  const sizeOf = async (ref: string) => Number((await dockerOk(['image', 'inspect', '--format', '{{.Size}}', ref])).trim());
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  try {
    const baseSize = base ? await sizeOf(base) : NaN;
    for (const image of Object.values(images)) {
      if (!image.id) continue;
      const size = await sizeOf(image.id);
      console.log(`size ${image.name}: ${mb(size)}, ${mb(size - baseSize)} above ${base}`);
    }
  } catch (error) {
    console.log(`size: not available (${(error as Error).message.split('\n')[0]})`);
  }
}

/** OCI label values: the version from package.json, the commit, and where the source lives. */
function buildLabels(): { VERSION: string; REVISION: string; SOURCE: string } {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  const repository = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository?.url ?? '');
  return {
    VERSION: pkg.version,
    REVISION: git('rev-parse', 'HEAD') || 'unknown',
    SOURCE: git('remote', 'get-url', 'origin') || repository,
  };
}
