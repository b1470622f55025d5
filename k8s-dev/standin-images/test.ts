// `npm run test:standins`: proves the stand-ins for the Bitnami PostgreSQL and Redis images (see
// README.md beside this file). They exist only for a cluster that reaches no registry; where one
// is reachable the real images are pulled and nothing in the chart changes, so this tests the
// stand-ins, not the real images.
//
// It builds them with build.sh, renders the chart with the real subcharts (helm/charts/), and runs
// each StatefulSet's container as the kubelet would: the rendered env (Secret values resolved),
// command and args, every volume mounted at its path (emptyDirs and their subPaths, Secrets and
// ConfigMaps as files with their modes, a directory per volumeClaimTemplate that outlives the pod),
// runAsUser/runAsGroup/fsGroup, a read-only root with nothing else writable, no capabilities. Then
// it runs the rendered probe commands and checks what a client sees. Each container has a network
// namespace of its own (loopback only), so nothing collides with servers on this host.
// Skips with one line when there is no docker (or podman, e.g. DOCKER=podman). Needs root, as
// build.sh's debootstrap does.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { docker, tail } from '../../scripts/images/docker.ts';
import { createReport } from '../../scripts/images/report.ts';
import { parseAllDocuments } from 'yaml';
import { find, type KubeObject } from '../../test/chart/support/helm.ts';
import { clusterState, containerEnv, type Container } from '../../test/chart/support/kubelet-env.ts';

const here = import.meta.dirname;
const repoRoot = join(here, '../..');
const cli = process.env.DOCKER ?? 'docker';

interface ExecProbe {
  exec: { command: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface PodContainer extends Omit<Container, 'livenessProbe' | 'readinessProbe'> {
  livenessProbe?: ExecProbe;
  readinessProbe?: ExecProbe;
  volumeMounts?: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}
interface Volume {
  name: string;
  emptyDir?: { medium?: string };
  secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
  configMap?: { name: string; items?: { key: string; path: string }[]; defaultMode?: number };
  persistentVolumeClaim?: { claimName: string };
}
interface PodTemplate {
  spec: {
    containers: PodContainer[];
    volumes?: Volume[];
    securityContext?: { fsGroup?: number };
    terminationGracePeriodSeconds?: number;
  };
}
interface StatefulSet extends KubeObject {
  spec: { template: PodTemplate; volumeClaimTemplates?: { metadata: { name: string } }[] };
}

/** A rendered release: its objects, and its StatefulSet's pod as the kubelet would start it. */
interface Workload {
  objects: KubeObject[];
  template: PodTemplate;
  container: PodContainer;
  claims: string[];
  secret: (name: string, key: string) => string;
}

const report = createReport();
const scratch = mkdtempSync(join(tmpdir(), 'standin-images-'));
const runId = `standins-${process.pid}`;
const started: string[] = [];
let podCount = 0;

if (!hasContainerCli()) {
  console.log(`standin-images: skipped: no ${cli} on PATH (set DOCKER=podman to use podman)`);
  process.exit(0);
}
const isPodman = /podman/i.test(spawnSync(cli, ['--version'], { encoding: 'utf8' }).stdout ?? '');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
}

try {
  const references = await buildImages();
  await checkArchives(references);
  await testPostgresql();
  await testRedis();
} catch (error) {
  report.fail('stopped early (later checks skipped)', error);
} finally {
  await cleanUp();
}
console.log(`standin-images: ${report.passed()} passed, ${report.failed()} failed`);
process.exitCode = report.failed() === 0 ? 0 : 1;

function hasContainerCli(): boolean {
  const probe = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  return !probe.error && probe.status === 0;
}

/** Runs build.sh; returns the references it built, with the archive that holds each. */
async function buildImages(): Promise<Map<string, string>> {
  const startedAt = Date.now();
  const build = spawnSync(join(here, 'build.sh'), [join(scratch, 'archives')], {
    encoding: 'utf8',
    env: { ...process.env, DOCKER: cli },
    maxBuffer: 256 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  if (build.status !== 0) throw new Error(`build.sh exited ${build.status}:\n${tail(build.stderr || build.stdout, 40)}`);
  const built = new Map<string, string>();
  for (const line of build.stdout.trim().split('\n').slice(1)) {
    const [reference, bytes, archive] = line.split('\t');
    built.set(reference!, archive!);
    console.log(`     ${reference}: ${(Number(bytes) / 1e6).toFixed(0)} MB`);
  }
  await report.check('build.sh builds both stand-ins', async () => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
  return built;
}

/** The archives name the exact references, which is what `ctr images import` tags them with. */
async function checkArchives(references: Map<string, string>): Promise<void> {
  for (const expected of [renderedImage('postgresql'), renderedImage('redis')]) {
    await report.check(`archive for ${expected} names exactly that reference`, async () => {
      const archive = references.get(expected);
      if (!archive) throw new Error(`build.sh built ${[...references.keys()].join(', ')}, not ${expected}`);
      const manifest = spawnSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' });
      if (manifest.status !== 0) throw new Error(`${archive} is no docker archive: ${manifest.stderr}`);
      const tags = (JSON.parse(manifest.stdout) as { RepoTags?: string[] }[]).flatMap((entry) => entry.RepoTags ?? []);
      if (!tags.includes(expected)) throw new Error(`RepoTags ${JSON.stringify(tags)}`);
    });
  }
}

function renderedImage(name: 'postgresql' | 'redis'): string {
  const workload = renderWorkload(name === 'postgresql' ? 'users-postgresql' : 'users-redis-master', {});
  return workload.container.image;
}

function renderWorkload(statefulSet: string, set: Record<string, string | boolean>, setFiles: Record<string, string> = {}): Workload {
  const objects = renderChart(set, setFiles);
  const sts = find(objects, 'StatefulSet', statefulSet) as StatefulSet;
  const state = clusterState(objects, { name: `${statefulSet}-0`, namespace: 'users' });
  return {
    objects,
    template: sts.spec.template,
    container: sts.spec.template.spec.containers[0]!,
    claims: (sts.spec.volumeClaimTemplates ?? []).map((claim) => claim.metadata.name),
    secret: (name, key) => {
      const value = state.secrets.get(name)?.[key];
      if (value === undefined) throw new Error(`no key ${key} in Secret ${name}`);
      return value;
    },
  };
}

/**
 * `helm template` of the release, read as the API server reads it: YAML 1.1, where the charts'
 * `defaultMode: 0755` is octal (YAML 1.2 would read 755 and the scripts would lose their x bit).
 */
function renderChart(set: Record<string, string | boolean>, setFiles: Record<string, string>): KubeObject[] {
  const args = ['template', 'users', join(repoRoot, 'helm'), '--namespace', 'users'];
  for (const [key, value] of Object.entries(set)) args.push(typeof value === 'string' ? '--set-string' : '--set', `${key}=${value}`);
  for (const [key, path] of Object.entries(setFiles)) args.push('--set-file', `${key}=${path}`);
  const result = spawnSync('helm', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error || result.status !== 0) throw new Error(`helm template failed: ${result.error?.message ?? result.stderr}`);
  return parseAllDocuments(result.stdout, { version: '1.1' })
    .map((doc) => doc.toJS() as KubeObject | null)
    .filter((object): object is KubeObject => object !== null);
}

/**
 * One pod of the StatefulSet: fresh emptyDirs, Secrets and ConfigMaps as files, and the claim
 * directories of `claimsDir`, which outlive the pod as PersistentVolumeClaims do.
 */
async function startPod(workload: Workload, claimsDir: string, envOverride?: (env: Record<string, string>) => Record<string, string>): Promise<string> {
  const { template, container } = workload;
  const podDir = join(scratch, `pod-${++podCount}`);
  const security = (container.securityContext ?? {}) as { runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  const fsGroup = template.spec.securityContext?.fsGroup;
  const state = clusterState(workload.objects, { name: `${container.name}-0`, namespace: 'users' });
  const volumeDirs = new Map<string, string>();
  const memoryVolumes = new Set<string>();
  for (const volume of template.spec.volumes ?? []) {
    const dir = join(podDir, volume.name);
    mkdirSync(dir, { recursive: true });
    if (volume.emptyDir) {
      chmodSync(dir, 0o777);
      if (volume.emptyDir.medium === 'Memory') memoryVolumes.add(volume.name);
    } else if (volume.secret || volume.configMap) {
      const source = volume.secret ?? volume.configMap!;
      const data = volume.secret ? state.secrets.get(volume.secret.secretName) : state.configMaps.get(volume.configMap!.name);
      if (!data) throw new Error(`volume ${volume.name}: its ${volume.secret ? 'Secret' : 'ConfigMap'} is not rendered`);
      const items = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        const file = join(dir, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, data[item.key] ?? '');
        chmodSync(file, source.defaultMode ?? 0o644);
        if (fsGroup !== undefined) chownSync(file, 0, fsGroup);
      }
    } else {
      throw new Error(`volume ${volume.name}: a kind this test does not model`);
    }
    volumeDirs.set(volume.name, dir);
  }
  for (const claim of workload.claims) {
    const dir = join(claimsDir, claim);
    mkdirSync(dir, { recursive: true });
    // What the kubelet does to a volume for fsGroup: group-owned, group-writable, setgid.
    if (fsGroup !== undefined) chownSync(dir, 0, fsGroup);
    chmodSync(dir, 0o2775);
    volumeDirs.set(claim, dir);
  }

  const name = `${runId}-${podCount}-${container.name}`;
  const args = ['run', '--detach', '--name', name, '--network', 'none'];
  if (security.runAsUser !== undefined) args.push('--user', `${security.runAsUser}:${security.runAsGroup ?? security.runAsUser}`);
  if (fsGroup !== undefined) args.push('--group-add', String(fsGroup));
  if (security.readOnlyRootFilesystem) args.push('--read-only', ...(isPodman ? ['--read-only-tmpfs=false'] : []));
  if (security.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  for (const capability of security.capabilities?.drop ?? []) args.push('--cap-drop', capability);
  const env = containerEnv(container as Container, state);
  for (const [key, value] of Object.entries(envOverride ? envOverride(env) : env)) args.push('--env', `${key}=${value}`);
  for (const mount of container.volumeMounts ?? []) {
    const source = volumeDirs.get(mount.name);
    if (!source) throw new Error(`volumeMount ${mount.name}: no such volume`);
    if (memoryVolumes.has(mount.name) && !mount.subPath) {
      args.push('--tmpfs', `${mount.mountPath}:rw,mode=1777`);
      continue;
    }
    const path = mount.subPath ? join(source, mount.subPath) : source;
    if (mount.subPath) {
      mkdirSync(path, { recursive: true });
      chmodSync(path, 0o777);
    }
    args.push('--volume', `${path}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`);
  }
  if (container.command) args.push('--entrypoint', container.command[0]!);
  args.push(container.image, ...(container.command?.slice(1) ?? []), ...(container.args ?? []));
  await dockerCli(args);
  started.push(name);
  return name;
}

async function dockerCli(args: string[], timeoutMs = 120_000): Promise<string> {
  const result = await docker(args, { timeoutMs, cli });
  if (result.code !== 0) throw new Error(`${cli} ${args.slice(0, 2).join(' ')} exited ${result.code}:\n${tail(result.stderr || result.stdout, 30)}`);
  return result.stdout;
}

/** Runs a command in the container: its exit code and output. */
async function exec(name: string, command: string[], env: Record<string, string> = {}, timeoutMs = 30_000) {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]);
  const result = await docker(['exec', ...envArgs, name, ...command], { timeoutMs, cli });
  return { code: result.code, out: `${result.stdout}${result.stderr}`.trim(), stdout: result.stdout.trim() };
}

async function execOk(name: string, command: string[], env: Record<string, string> = {}): Promise<string> {
  const result = await exec(name, command, env);
  if (result.code !== 0) throw new Error(`${command.join(' ')} exited ${result.code}: ${result.out}`);
  return result.stdout;
}

/** One run of an exec probe, as the kubelet runs it: success is exit 0 within timeoutSeconds. */
async function probeOnce(name: string, probe: ExecProbe) {
  return exec(name, probe.exec.command, {}, (probe.timeoutSeconds ?? 1) * 1000 + 5_000);
}

/**
 * Polls a probe until it passes, within what the manifest allows before the kubelet gives up
 * (initialDelaySeconds + periodSeconds × failureThreshold), or until the container exits.
 */
async function untilProbePasses(name: string, probe: ExecProbe): Promise<string> {
  const budgetMs = ((probe.initialDelaySeconds ?? 0) + (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3)) * 1000;
  const startedAt = Date.now();
  let last = 'not probed';
  while (Date.now() - startedAt < budgetMs) {
    const result = await probeOnce(name, probe);
    if (result.code === 0) return `${((Date.now() - startedAt) / 1000).toFixed(1)} s after start`;
    last = `exit ${result.code}: ${result.out}`;
    if ((await docker(['inspect', '--format', '{{.State.Running}}', name], { cli })).stdout.trim() !== 'true') break;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`did not pass within ${budgetMs / 1000} s (last: ${last})\n${await logsOf(name)}`);
}

/**
 * Ready as a client needs it: the rendered readiness probe passes and the setup has finished. The
 * chart's probe means to check the setup's marker too, but its first line `exec`s pg_isready, so
 * it passes already while the setup's temporary server runs (on localhost only, as in Bitnami's
 * image); the test waits for the marker that probe names, then probes again.
 */
async function untilPostgresqlReady(name: string, probe: ExecProbe): Promise<string> {
  const first = await untilProbePasses(name, probe);
  const marker = /\[ -f (\S+\.initialized) \]/.exec(probe.exec.command.join(' '))?.[1];
  if (!marker) throw new Error(`the readiness probe names no .initialized marker: ${probe.exec.command.join(' ')}`);
  await untilProbePasses(name, { ...probe, exec: { command: ['test', '-f', marker] } });
  await untilProbePasses(name, probe);
  return `${first}; setup finished`;
}

async function logsOf(name: string): Promise<string> {
  const logs = await docker(['logs', name], { cli });
  return `--- last output of ${name} ---\n${tail(logs.stdout + logs.stderr, 25)}`;
}

/** Deletes the pod as the StatefulSet controller would replace it: SIGTERM, the grace period, gone. */
async function deletePod(name: string, template: PodTemplate): Promise<void> {
  await dockerCli(['stop', '--time', String(template.spec.terminationGracePeriodSeconds ?? 30), name], 120_000);
  await dockerCli(['rm', name]);
  started.splice(started.indexOf(name), 1);
}

/** The process the container runs, as the kernel sees it (uid, and whether / is writable). */
async function checkHardening(label: string, name: string, uid: number): Promise<void> {
  await report.check(`${label}: runs as uid ${uid} on a read-only root filesystem`, async () => {
    const status = await execOk(name, ['cat', '/proc/1/status']);
    const realUid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (realUid !== String(uid)) throw new Error(`PID 1 runs as uid ${realUid}`);
    const write = await exec(name, ['touch', '/opt/bitnami/written']);
    if (write.code === 0 || !/read-only/i.test(write.out)) throw new Error(`writing under /opt/bitnami: exit ${write.code} ${write.out}`);
  });
}

async function checkImageConfig(image: string): Promise<void> {
  await report.check(`${image}: says it is a stand-in and runs as 1001 by default`, async () => {
    const config = JSON.parse(await dockerCli(['image', 'inspect', '--format', '{{json .Config}}', image])) as { User?: string; Labels?: Record<string, string> };
    if (config.User !== '1001') throw new Error(`USER ${config.User}`);
    const title = config.Labels?.['org.opencontainers.image.title'] ?? '';
    if (!title.includes('stand-in')) throw new Error(`title label: ${title}`);
  });
}

async function testPostgresql(): Promise<void> {
  // Init scripts through the chart's own value, one of each kind Bitnami runs: SQL as the
  // application user, a shell script sourced with the image's variables.
  const scripts = join(scratch, 'initdb');
  mkdirSync(scripts);
  writeFileSync(join(scripts, '01-table.sql'), "CREATE TABLE init_runs (kind text NOT NULL);\nINSERT INTO init_runs VALUES ('sql');\n");
  writeFileSync(join(scripts, '02-row.sh'), `PGPASSWORD="$POSTGRESQL_PASSWORD" psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$POSTGRESQL_PORT_NUMBER" -U "$POSTGRESQL_USERNAME" -d "$POSTGRESQL_DATABASE" -c "INSERT INTO init_runs VALUES ('sh')"\n`);
  const workload = renderWorkload('users-postgresql', {}, {
    'postgresql.primary.initdb.scripts.01-table\\.sql': join(scripts, '01-table.sql'),
    'postgresql.primary.initdb.scripts.02-row\\.sh': join(scripts, '02-row.sh'),
  });
  const { container, template } = workload;
  const label = 'postgresql';
  const appPassword = workload.secret('users-postgresql', 'password');
  const adminPassword = workload.secret('users-postgresql', 'postgres-password');
  const claims = join(scratch, 'postgresql-claims');
  await checkImageConfig(container.image);

  // SQL as a client does it: over TCP on the pod's loopback, with a password (never prompted).
  const sql = (name: string, query: string, user = 'users', password = appPassword) =>
    exec(name, ['psql', '-w', '-X', '-At', '-h', '127.0.0.1', '-p', '5432', '-U', user, '-d', 'users', '-c', query], { PGPASSWORD: password });
  const sqlOk = async (name: string, query: string, user?: string, password?: string) => {
    const result = await sql(name, query, user, password);
    if (result.code !== 0) throw new Error(`${query}: exit ${result.code}: ${result.out}`);
    return result.stdout;
  };

  let pod = await startPod(workload, claims);
  const ready = await report.check(`${label}: the rendered readiness probe passes`, () => untilPostgresqlReady(pod, container.readinessProbe!));
  if (!ready) return;
  await report.check(`${label}: the rendered liveness probe passes`, async () => {
    const result = await probeOnce(pod, container.livenessProbe!);
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.out}`);
  });
  await report.check(`${label}: the Secret's password logs the application user into its database`, async () => {
    const who = await sqlOk(pod, 'SELECT current_user, current_database(), (SELECT datdba::regrole FROM pg_database WHERE datname = current_database())');
    if (who !== 'users|users|users') throw new Error(`user|database|owner: ${who}`);
  });
  await report.check(`${label}: a wrong password is refused`, async () => {
    const result = await sql(pod, 'SELECT 1', 'users', `${appPassword}-wrong`);
    if (result.code === 0 || !/password authentication failed/.test(result.out)) throw new Error(`exit ${result.code}: ${result.out}`);
  });
  await report.check(`${label}: no password over the local socket is refused too`, async () => {
    const result = await exec(pod, ['psql', '-w', '-X', '-At', '-U', 'users', '-d', 'users', '-c', 'SELECT 1']);
    if (result.code === 0 || !/no password supplied/.test(result.out)) throw new Error(`exit ${result.code}: ${result.out}`);
  });
  await report.check(`${label}: postgres-password logs the superuser in`, async () => {
    const superuser = await sqlOk(pod, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user', 'postgres', adminPassword);
    if (superuser !== 't') throw new Error(`rolsuper: ${superuser}`);
  });
  await report.check(`${label}: server is PostgreSQL 17, pgaudit preloaded as POSTGRESQL_SHARED_PRELOAD_LIBRARIES says`, async () => {
    const [versionNum, version, preload] = (await sqlOk(pod, "SELECT current_setting('server_version_num'), current_setting('server_version'), current_setting('shared_preload_libraries')", 'postgres', adminPassword)).split('|');
    if (Math.floor(Number(versionNum) / 10_000) !== 17) throw new Error(`server_version ${version}`);
    if (preload !== 'pgaudit') throw new Error(`shared_preload_libraries: ${preload}`);
    return version;
  });
  await report.check(`${label}: the chart's initdb scripts (.sql as the app user, .sh sourced) ran once`, async () => {
    const kinds = await sqlOk(pod, 'SELECT string_agg(kind, \',\' ORDER BY kind) FROM init_runs');
    if (kinds !== 'sh,sql') throw new Error(`init_runs: ${kinds}`);
  });
  await checkHardening(label, pod, 1001);
  await report.check(`${label}: the data directory on the claim belongs to uid 1001, mode 0700`, async () => {
    const owner = await execOk(pod, ['stat', '-c', '%u %a', '/bitnami/postgresql/data']);
    if (owner !== '1001 700') throw new Error(`uid and mode: ${owner}`);
  });

  await sqlOk(pod, "CREATE TABLE kept (note text); INSERT INTO kept VALUES ('written before the restart')");
  await deletePod(pod, template);
  pod = await startPod(workload, claims);
  await report.check(`${label}: a new pod on the same claim becomes ready`, () => untilPostgresqlReady(pod, container.readinessProbe!));
  await report.check(`${label}: data on the claim outlives the pod, and the first start's password still works`, async () => {
    const note = await sqlOk(pod, 'SELECT note FROM kept');
    if (note !== 'written before the restart') throw new Error(`kept: ${note}`);
  });
  await report.check(`${label}: the initdb scripts did not run again`, async () => {
    const kinds = await sqlOk(pod, 'SELECT string_agg(kind, \',\' ORDER BY kind) FROM init_runs');
    if (kinds !== 'sh,sql') throw new Error(`init_runs: ${kinds}`);
  });
  await deletePod(pod, template);

  await report.check(`${label}: without a password (and no ALLOW_EMPTY_PASSWORD) it refuses to start`, async () => {
    const withoutPassword = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'POSTGRES_PASSWORD_FILE'));
    const name = await startPod(workload, join(scratch, 'postgresql-no-password'), withoutPassword);
    const code = await dockerCli(['wait', name], 120_000);
    const logs = await logsOf(name);
    if (code.trim() === '0' || !/POSTGRESQL_PASSWORD environment variable is empty/.test(logs)) throw new Error(`exit ${code.trim()}\n${logs}`);
    return `exit ${code.trim()}`;
  });
}

async function testRedis(): Promise<void> {
  // A claim on /data, so that "data on the data path outlives the pod" can be checked (the chart's
  // values keep Redis a cache, without persistence; the container is the same either way).
  const workload = renderWorkload('users-redis-master', { 'redis.master.persistence.enabled': true });
  const { container, template } = workload;
  const label = 'redis';
  const password = workload.secret('users-redis', 'redis-password');
  const claims = join(scratch, 'redis-claims');
  await checkImageConfig(container.image);
  const cliRun = (name: string, args: string[], auth?: string) =>
    exec(name, ['redis-cli', '-p', '6379', ...args], auth === undefined ? {} : { REDISCLI_AUTH: auth });

  let pod = await startPod(workload, claims);
  const ready = await report.check(`${label}: the rendered readiness probe (${container.readinessProbe!.exec.command.at(-1)}) passes`, () => untilProbePasses(pod, container.readinessProbe!));
  if (!ready) return;
  await report.check(`${label}: the rendered liveness probe passes`, async () => {
    const result = await probeOnce(pod, container.livenessProbe!);
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.out}`);
  });
  await report.check(`${label}: start-master.sh started it with the Secret's password, and none is refused`, async () => {
    const anonymous = await cliRun(pod, ['ping']);
    if (!/NOAUTH/.test(anonymous.out)) throw new Error(`without a password: ${anonymous.out}`);
    const wrong = await cliRun(pod, ['ping'], `${password}-wrong`);
    if (!/WRONGPASS|invalid password/i.test(wrong.out)) throw new Error(`with a wrong password: ${wrong.out}`);
    const right = await cliRun(pod, ['ping'], password);
    if (right.stdout !== 'PONG') throw new Error(`with the password: ${right.out}`);
  });
  await report.check(`${label}: the chart's ConfigMap configuration is what the server runs with`, async () => {
    const config = await cliRun(pod, ['config', 'get', '*'], password);
    const lines = config.stdout.split('\n');
    const setting = (key: string) => lines[lines.indexOf(key) + 1];
    const expected = { maxmemory: '201326592', 'maxmemory-policy': 'allkeys-lru', appendonly: 'no', save: '', dir: '/data', port: '6379' };
    const wrong = Object.entries(expected).filter(([key, value]) => setting(key) !== value);
    if (wrong.length) throw new Error(wrong.map(([key, value]) => `${key}: ${setting(key)} (want ${value})`).join('; '));
    const flush = await cliRun(pod, ['flushall'], password);
    if (!/unknown command/i.test(flush.out)) throw new Error(`FLUSHALL (renamed away by master.conf): ${flush.out}`);
  });
  await report.check(`${label}: server is Redis 8`, async () => {
    const version = /redis_version:(\S+)/.exec((await cliRun(pod, ['info', 'server'], password)).stdout)?.[1] ?? '?';
    if (!version.startsWith('8.')) throw new Error(`redis_version ${version}`);
    return version;
  });
  await checkHardening(label, pod, 1001);
  await report.check(`${label}: data saved on the data path (/data) outlives the pod`, async () => {
    const set = await cliRun(pod, ['set', 'standin:kept', 'before the restart'], password);
    if (set.stdout !== 'OK') throw new Error(`SET: ${set.out}`);
    const save = await cliRun(pod, ['save'], password);
    if (save.stdout !== 'OK') throw new Error(`SAVE: ${save.out}`);
    await deletePod(pod, template);
    pod = await startPod(workload, claims);
    await untilProbePasses(pod, container.readinessProbe!);
    const kept = await cliRun(pod, ['get', 'standin:kept'], password);
    if (kept.stdout !== 'before the restart') throw new Error(`GET after the restart: ${kept.out}`);
  });
  await deletePod(pod, template);

  const open = renderWorkload('users-redis-master', { 'redis.auth.enabled': false });
  await report.check(`${label}: with auth.enabled=false (ALLOW_EMPTY_PASSWORD=yes) it answers without a password`, async () => {
    const openPod = await startPod(open, join(scratch, 'redis-open-claims'));
    await untilProbePasses(openPod, open.container.readinessProbe!);
    const ping = await cliRun(openPod, ['ping']);
    if (ping.stdout !== 'PONG') throw new Error(`ping: ${ping.out}`);
    await deletePod(openPod, open.template);
  });
  await report.check(`${label}: the image's own entrypoint refuses to start without a password`, async () => {
    const result = await docker(['run', '--rm', '--network', 'none', container.image], { timeoutMs: 60_000, cli });
    if (result.code === 0 || !/ALLOW_EMPTY_PASSWORD=yes/.test(result.stderr + result.stdout)) throw new Error(`exit ${result.code}: ${result.stderr}`);
    return `exit ${result.code}`;
  });
}

async function cleanUp(): Promise<void> {
  for (const name of started.splice(0)) await docker(['rm', '--force', name], { timeoutMs: 60_000, cli }).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
}
