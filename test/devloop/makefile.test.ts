// The Makefile is the dev loop's front door: `make` must explain every target, and each target
// must run the command its description promises (checked with `make -n`, which runs nothing).
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/repo.ts';

const make = (...args: string[]): string =>
  execFileSync('make', ['--no-print-directory', ...args], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

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
    expect(make()).toBe(make('help'));
  });

  it('documents every required target, and every phony target, with a description', () => {
    const entries = helpEntries(make('help'));
    for (const target of required) expect(entries.get(target), target).toMatch(/\w{3,}/);
    const phony = /^\.PHONY:(.*)$/m.exec(readFileSync(path.join(repoRoot, 'Makefile'), 'utf8'))![1]!.trim().split(/\s+/);
    expect([...entries.keys()].sort()).toEqual([...phony].sort());
  });

  it('shows the settings a user can override', () => {
    expect(make('help')).toContain('Usage: make <target> [RELEASE=users] [NAMESPACE=default] [TAG=dev] [KIND_CLUSTER=users-dev]');
  });
});

describe('make -n', () => {
  const commands: Record<string, string[]> = {
    deps: ['helm dependency build helm'],
    dev: ['skaffold dev --port-forward=user'],
    run: ['scripts/run-local.sh'],
    test: ['scripts/local-services.sh', '[ -d node_modules ] || npm ci --no-audit --no-fund', 'npm test'],
    images: ['docker build --file Dockerfile.user --tag user-service:dev .', 'docker build --file Dockerfile.data --tag data-service:dev .'],
    load: ['k8s-dev/load-images.sh'],
    'kind-up': ['k8s-dev/kind-up.sh'],
    'kind-down': ['kind delete cluster --name users-dev'],
    'minikube-up': ['k8s-dev/minikube-up.sh'],
    'port-forward': ['k8s-dev/port-forward.sh'],
    e2e: ['npm run e2e'],
    bench: ['npm run bench'],
    clean: ['rm -rf dist helm/charts'],
    undeploy: ['helm uninstall users --namespace default'],
    'helm-test': ['helm test users --namespace default --logs'],
  };

  for (const [target, expected] of Object.entries(commands)) {
    it(`${target} runs ${expected.join(' && ')}`, () => {
      expect(make('-n', target).trim().split('\n')).toEqual(expected);
    });
  }

  it('deploy installs or upgrades the release with the dev values and the TAG images, and waits', () => {
    const command = make('-n', 'deploy').replace(/\\\n\s*/g, '').trim();
    expect(command).toBe(
      'helm upgrade --install users helm --namespace default --create-namespace --dependency-update ' +
        '--values k8s-dev/values-dev.yaml --set userService.image.tag=dev --set dataService.image.tag=dev --wait --timeout 10m',
    );
  });

  it('passes overrides through to the commands', () => {
    const command = make('-n', 'deploy', 'RELEASE=demo', 'NAMESPACE=team', 'TAG=1.2.3', 'HELM=/opt/helm/bin/helm');
    expect(command).toContain('/opt/helm/bin/helm upgrade --install demo helm --namespace team');
    expect(command).toContain('--set userService.image.tag=1.2.3 --set dataService.image.tag=1.2.3');
    expect(make('-n', 'kind-down', 'KIND_CLUSTER=other')).toBe('kind delete cluster --name other\n');
  });

  it('names scripts that exist and are executable', () => {
    for (const target of ['run', 'load', 'kind-up', 'minikube-up', 'port-forward']) {
      const script = make('-n', target).trim();
      expect(() => accessSync(path.join(repoRoot, script), constants.X_OK), script).not.toThrow();
    }
  });

  it('refuses a target that does not exist', () => {
    expect(() => make('-n', 'deplyo')).toThrow(/No rule to make target/);
  });
});
