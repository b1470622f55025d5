// The Makefile is the dev loop's front door: `make` must explain every target, and each target
// must run the tool its description promises, with the settings a user passed. The tools that
// cannot run here (a cluster's helm, kubectl, kind, minikube, skaffold, docker) and npm (which
// must not start a second test run from inside this one) are stubs that record their arguments.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/repo.ts';
import { stubs, type Stubs } from './support/stubs.ts';

function make(args: string[], stub?: Stubs, cwd = repoRoot) {
  const result = spawnSync('make', ['--no-print-directory', ...args], {
    cwd,
    env: stub ? { PATH: stub.path, HOME: stub.dir } : process.env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, calls: stub?.calls() ?? [] };
}

const required = ['run', 'deps', 'dev', 'deploy', 'test', 'images', 'kind-up', 'kind-down', 'minikube-up', 'port-forward', 'e2e', 'bench', 'clean'];

/** "  target   description" lines of `make help`. */
function helpEntries(output: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^ {2}([a-z0-9-]+) +(\S.*)$/.exec(line);
    if (match) entries.set(match[1]!, match[2]!);
  }
  return entries;
}

describe('make help', () => {
  it('is what a bare `make` prints', () => {
    expect(make([]).stdout).toBe(make(['help']).stdout);
  });

  it('documents every required target, and every phony target, with a description', () => {
    const entries = helpEntries(make(['help']).stdout);
    for (const target of required) expect(entries.get(target), target).toMatch(/\w{3,}/);
    const phony = /^\.PHONY:(.*)$/m.exec(readFileSync(path.join(repoRoot, 'Makefile'), 'utf8'))![1]!.trim().split(/\s+/);
    expect([...entries.keys()].sort()).toEqual([...phony].sort());
  });

  it('shows the settings a user can override', () => {
    expect(make(['help']).stdout).toContain('Usage: make <target> [RELEASE=users] [NAMESPACE=default] [TAG=dev] [KIND_CLUSTER=users-dev]');
  });
});

/** A helm 4 that a cluster answers. */
const helm4 = '[ "$1" = version ] && echo v4.1.0\nexit 0';
const unreachable = 'echo \'Error: kubernetes cluster unreachable: Get "http://localhost:8080/version": dial tcp 127.0.0.1:8080: connect: connection refused\' >&2; exit 1';

describe('the targets run their tools with the settings given', () => {
  it('deploy checks for a cluster, then installs or upgrades the release with the dev values and the TAG images, and waits', () => {
    const stub = stubs({ helm: helm4 });
    const { code, calls } = make(['deploy'], stub);
    expect(code).toBe(0);
    expect(calls).toEqual([
      'helm list --namespace default --max 1',
      'helm upgrade --install users helm --namespace default --create-namespace --dependency-update --values k8s-dev/values-dev.yaml ' +
        '--set userService.image.tag=dev --set dataService.image.tag=dev --wait --timeout 10m',
    ]);
  });

  it('deploy and undeploy pass RELEASE, NAMESPACE, TAG and HELM through, to the cluster check too', () => {
    const stub = stubs({ helm4: helm4 });
    const settings = ['RELEASE=demo', 'NAMESPACE=team', 'TAG=1.2.3', `HELM=${path.join(stub.dir, 'helm4')}`];
    expect(make(['deploy', ...settings], stub).code).toBe(0);
    expect(make(['undeploy', ...settings], stub).code).toBe(0);
    expect(stub.calls()).toEqual([
      'helm4 list --namespace team --max 1',
      'helm4 upgrade --install demo helm --namespace team --create-namespace --dependency-update --values k8s-dev/values-dev.yaml ' +
        '--set userService.image.tag=1.2.3 --set dataService.image.tag=1.2.3 --wait --timeout 10m',
      'helm4 list --namespace team --max 1',
      'helm4 uninstall demo --namespace team',
    ]);
  });

  it('deploy without a cluster says how to get one instead of Helm\'s raw error, and installs nothing', () => {
    const stub = stubs({ helm: `[ "$1" = list ] && { ${unreachable}; }\nexit 0` });
    const { code, stderr, calls } = make(['deploy'], stub);
    expect(code).not.toBe(0);
    expect(stderr).toContain('no cluster: make kind-up or make minikube-up\n');
    expect(stderr).not.toContain('localhost:8080');
    expect(calls).toEqual(['helm list --namespace default --max 1']);
  });

  it('deploy leaves any other helm failure to the upgrade, which reports it', () => {
    const stub = stubs({ helm: '[ "$1" = list ] && { echo "Error: forbidden" >&2; exit 1; }\nexit 0' });
    const { code, calls } = make(['deploy'], stub);
    expect(code).toBe(0);
    expect(calls[1]).toMatch(/^helm upgrade --install users helm /);
  });

  it.each([
    ['deps', [], ['helm dependency build helm']],
    ['helm-test', ['RELEASE=demo', 'NAMESPACE=team'], ['helm test demo --namespace team --logs']],
    ['dev', [], ['skaffold dev --port-forward=user']],
    ['images', ['TAG=1.2.3'], ['docker build --file Dockerfile.user --tag user-service:1.2.3 .', 'docker build --file Dockerfile.data --tag data-service:1.2.3 .']],
    ['kind-down', ['KIND_CLUSTER=other'], ['kind delete cluster --name other']],
    ['e2e', [], ['npm run e2e']],
    ['test-standins', [], ['npm run test:standins']],
    ['bench', [], ['npm run bench']],
  ])('%s %j runs %j', (target, settings, expected) => {
    const stub = stubs({ helm: helm4, skaffold: 'exit 0', docker: 'exit 0', kind: 'exit 0', npm: 'exit 0' });
    const { code, calls } = make([target, ...settings], stub);
    expect(code).toBe(0);
    expect(calls).toEqual(expected);
  });

  it('the k8s-dev targets run their scripts with the Makefile\'s settings', () => {
    const stub = stubs({ kind: '[ "$1 $2" = "get clusters" ] && echo other; exit 0', kubectl: 'exit 0', minikube: 'exit 0' });
    expect(make(['kind-up', 'KIND_CLUSTER=team-dev'], stub).code).toBe(0);
    expect(make(['minikube-up'], stub).code).toBe(0);
    expect(stub.calls()).toEqual([
      'kind get clusters',
      `kind create cluster --name team-dev --config ${path.join(repoRoot, 'k8s-dev/kind-cluster.yaml')} --wait 120s`,
      'kubectl config use-context kind-team-dev',
      'minikube start --profile minikube --cpus 2 --memory 4g',
      'kubectl config use-context minikube',
    ]);
  });

  it('load loads the TAG images into the current kind cluster', () => {
    const stub = stubs({ kubectl: '[ "$1 $2" = "config current-context" ] && echo kind-users-dev; exit 0', kind: 'exit 0' });
    expect(make(['load', 'TAG=7'], stub).code).toBe(0);
    expect(stub.calls().filter((call) => call.startsWith('kind'))).toEqual([
      'kind load docker-image --name users-dev user-service:7',
      'kind load docker-image --name users-dev data-service:7',
    ]);
  });

  it('port-forward without a cluster says so in one line', () => {
    const stub = stubs({ kubectl: 'echo "The connection to the server localhost:8080 was refused - did you specify the right host or port?" >&2; exit 1' });
    const { code, stderr, calls } = make(['port-forward'], stub);
    expect(code).not.toBe(0);
    expect(stderr).toContain('no cluster: make kind-up or make minikube-up\n');
    expect(stderr).not.toMatch(/memcache|localhost:8080/);
    expect(calls).toEqual(['kubectl get --raw /version --request-timeout=5s']);
  });

  it('e2e fails when npm run e2e reports no cluster (77): make itself can only exit 2, and names the 77', () => {
    const stub = stubs({ npm: 'exit 77' });
    const { code, stderr } = make(['e2e'], stub);
    expect(code).toBe(2);
    expect(stderr).toMatch(/\[Makefile:\d+: e2e\] Error 77/);
  });

  it('clean removes the build output and the fetched subcharts, and keeps Chart.lock', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devloop-clean-'));
    cpSync(path.join(repoRoot, 'Makefile'), path.join(dir, 'Makefile'));
    mkdirSync(path.join(dir, 'dist/services'), { recursive: true });
    mkdirSync(path.join(dir, 'helm/charts/redis'), { recursive: true });
    writeFileSync(path.join(dir, 'helm/Chart.lock'), 'dependencies: []\n');
    expect(make(['clean'], stubs({}), dir).code).toBe(0);
    expect(existsSync(path.join(dir, 'dist'))).toBe(false);
    expect(existsSync(path.join(dir, 'helm/charts'))).toBe(false);
    expect(existsSync(path.join(dir, 'helm/Chart.lock'))).toBe(true);
  });

  it('refuses a target that does not exist', () => {
    const { code, stderr } = make(['deplyo'], stubs({}));
    expect(code).toBe(2);
    expect(stderr).toMatch(/No rule to make target/);
  });
});

describe('make test', () => {
  const servers = 'exit 0';

  it('checks the tools, then runs npm test', () => {
    const stub = stubs({ helm: helm4, npm: 'exit 0', pg_isready: servers, 'redis-cli': 'echo PONG' });
    const { code, calls } = make(['test'], stub);
    expect(code).toBe(0);
    expect(calls).toEqual(['helm version --template {{.Version}}', 'pg_isready -q -h 127.0.0.1 -p 5432', 'redis-cli -h 127.0.0.1 -p 6379 ping', 'npm test']);
  });

  it('without helm stops at once with one line saying how to get it', () => {
    const stub = stubs({ npm: 'exit 0', pg_isready: servers, 'redis-cli': 'echo PONG' });
    const { code, stderr, calls } = make(['test'], stub);
    expect(code).not.toBe(0);
    expect(stderr.split('\n').filter((line) => line.startsWith('missing:'))).toEqual([
      "missing: helm 4 (the chart's tests render the chart): https://helm.sh/docs/intro/install/",
    ]);
    expect(calls).toEqual([]);
  });

  it('with Helm 3 says Helm 4 is needed', () => {
    const stub = stubs({ helm: '[ "$1" = version ] && echo v3.17.2; exit 0', npm: 'exit 0' });
    const { code, stderr, calls } = make(['test'], stub);
    expect(code).not.toBe(0);
    expect(stderr.split('\n').filter((line) => line.startsWith('missing:'))).toEqual([
      'missing: helm 4 (found v3.17.2; the chart needs Helm 4): https://helm.sh/docs/intro/install/',
    ]);
    expect(calls).toEqual(['helm version --template {{.Version}}']);
  });
});
