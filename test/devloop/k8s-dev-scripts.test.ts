// The k8s-dev scripts' own logic: which cluster they talk to, what they do when kind's image load
// fails, that kind-up is idempotent, and that port-forward stops as soon as one forward dies.
// kind, minikube, docker and a cluster cannot run here, so they are replaced by stub commands that
// record their arguments; the scripts themselves run unmodified under bash.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/repo.ts';
import { stubs, type Stubs } from './support/stubs.ts';

function runScript(script: string, stub: Stubs, env: Record<string, string> = {}, timeoutMs = 10_000) {
  const result = spawnSync('bash', [path.join(repoRoot, 'k8s-dev', script)], {
    cwd: repoRoot,
    // Only the stubs and the base system: a real kubectl on this machine must not be reached.
    env: { PATH: stub.path, HOME: stub.dir, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, calls: stub.calls() };
}

const kubectlOnContext = (context: string): string => `[ "$1 $2" = "config current-context" ] && echo "${context}"; exit 0`;

describe('load-images.sh', () => {
  it('loads both TAG images into the kind cluster named by the context', () => {
    const stub = stubs({ kubectl: kubectlOnContext('kind-users-dev'), kind: 'exit 0' });
    const { code, calls } = runScript('load-images.sh', stub, { TAG: '1.2.3' });
    expect(code).toBe(0);
    expect(calls).toEqual([
      'kubectl config current-context',
      'kind load docker-image --name users-dev user-service:1.2.3',
      'kind load docker-image --name users-dev data-service:1.2.3',
    ]);
  });

  it('retries through a single-platform archive when kind load fails, and removes the archive', () => {
    const stub = stubs({
      kubectl: kubectlOnContext('kind-users-dev'),
      // Fails like Docker's containerd image store does; the archive path must exist when loaded.
      kind: '[ "$2" = "docker-image" ] && { echo "ctr: content digest sha256:abc: not found" >&2; exit 1; }\n[ "$2" = "image-archive" ] && [ -s "${@: -1}" ] && echo "${@: -1}" >> "$(dirname "$0")/archives"',
      docker:
        '[ "$2" = "inspect" ] && echo linux/arm64\n[ "$2" = "save" ] && for ((i = 1; i <= $#; i++)); do [ "${!i}" = "--output" ] && j=$((i + 1)) && echo tar > "${!j}"; done; exit 0',
    });
    const { code, calls, stderr } = runScript('load-images.sh', stub);
    expect(code).toBe(0);
    expect(stderr).toContain('load-images: retrying user-service:dev as a single-platform archive');
    const normalized = calls.map((call) => call.replace(/\/\S+\/image\.tar/, '<archive>'));
    expect(normalized).toEqual([
      'kubectl config current-context',
      'kind load docker-image --name users-dev user-service:dev',
      "docker image inspect --format {{.Os}}/{{.Architecture}} user-service:dev",
      'docker image save --platform linux/arm64 --output <archive> user-service:dev',
      'kind load image-archive --name users-dev <archive>',
      'kind load docker-image --name users-dev data-service:dev',
      "docker image inspect --format {{.Os}}/{{.Architecture}} data-service:dev",
      'docker image save --platform linux/arm64 --output <archive> data-service:dev',
      'kind load image-archive --name users-dev <archive>',
    ]);
    const archives = readFileSync(path.join(stub.dir, 'archives'), 'utf8').split('\n').filter(Boolean);
    expect(archives).toHaveLength(2);
    for (const archive of archives) expect(existsSync(archive), archive).toBe(false);
  });

  it('fails when the archive load fails too', () => {
    const stub = stubs({ kubectl: kubectlOnContext('kind-users-dev'), kind: 'exit 1', docker: 'exit 0' });
    const { code, calls } = runScript('load-images.sh', stub);
    expect(code).not.toBe(0);
    expect(calls.at(-1)).toMatch(/^kind load image-archive --name users-dev /);
    expect(calls.join('\n')).not.toContain('data-service');
  });

  it('uses minikube image load on a running minikube profile', () => {
    const stub = stubs({ kubectl: kubectlOnContext('minikube'), minikube: 'exit 0' });
    const { code, calls } = runScript('load-images.sh', stub);
    expect(code).toBe(0);
    expect(calls).toEqual([
      'kubectl config current-context',
      'minikube status --profile minikube',
      'minikube image load --profile minikube user-service:dev',
      'minikube image load --profile minikube data-service:dev',
    ]);
  });

  it('refuses any other cluster, which has to pull from a registry', () => {
    const stub = stubs({ kubectl: kubectlOnContext('gke_shop_europe-west1_prod'), minikube: 'exit 85' });
    const { code, stderr, calls } = runScript('load-images.sh', stub);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      'load-images: context "gke_shop_europe-west1_prod" is neither kind (kind-*), the local node (local-node) nor a running minikube profile; push the images to a registry the cluster pulls from',
    );
    expect(calls.some((call) => call.includes('image load'))).toBe(false);
  });
});

describe('kind-up.sh', () => {
  it('creates the cluster from k8s-dev/kind-cluster.yaml when it does not exist, then switches to it', () => {
    const stub = stubs({ kind: '[ "$1 $2" = "get clusters" ] && echo other; exit 0', kubectl: 'exit 0' });
    const { code, calls } = runScript('kind-up.sh', stub);
    expect(code).toBe(0);
    expect(calls).toEqual([
      'kind get clusters',
      `kind create cluster --name users-dev --config ${path.join(repoRoot, 'k8s-dev/kind-cluster.yaml')} --wait 120s`,
      'kubectl config use-context kind-users-dev',
    ]);
  });

  it('leaves an existing cluster alone but restores its kind- context', () => {
    const stub = stubs({ kind: '[ "$1 $2" = "get clusters" ] && printf "other\\nusers-dev\\n"; exit 0', kubectl: 'exit 0' });
    const { code, calls } = runScript('kind-up.sh', stub);
    expect(code).toBe(0);
    expect(calls).toEqual(['kind get clusters', 'kind export kubeconfig --name users-dev', 'kubectl config use-context kind-users-dev']);
  });

  it('says how to get kind when it is missing', () => {
    const stub = stubs({ kubectl: 'exit 0' });
    const { code, stderr } = runScript('kind-up.sh', stub);
    expect(code).toBe(127);
    expect(stderr).toContain('kind-up: kind is not installed');
  });
});

describe('minikube-up.sh', () => {
  it('starts the default profile with room for both services and the databases', () => {
    const stub = stubs({ minikube: 'exit 0', kubectl: 'exit 0' });
    const { code, calls } = runScript('minikube-up.sh', stub);
    expect(code).toBe(0);
    expect(calls).toEqual(['minikube start --profile minikube --cpus 2 --memory 4g', 'kubectl config use-context minikube']);
  });
});

describe('port-forward.sh', () => {
  it('forwards both Deployments and stops the other forward as soon as one dies', async () => {
    const stub = stubs({
      // user-service's forward stays up; data-service's dies at once, as when its pod is replaced.
      kubectl: '[ "$1" = get ] && exit 0\n[[ "$*" == *data-service* ]] && { sleep 0.5; exit 1; }\necho $$ > "$(dirname "$0")/user-forward.pid"\nexec sleep 30',
    });
    const started = Date.now();
    const { code, calls } = runScript('port-forward.sh', stub, { RELEASE: 'demo', NAMESPACE: 'team' }, 20_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(code).not.toBe(0);
    expect(calls[0]).toBe('kubectl get --raw /version --request-timeout=5s');
    expect(calls.slice(1).sort()).toEqual([
      'kubectl --namespace team port-forward deployment/demo-data-service 5001:8080',
      'kubectl --namespace team port-forward deployment/demo-user-service 5000:8080',
    ]);
    const pid = Number(readFileSync(path.join(stub.dir, 'user-forward.pid'), 'utf8'));
    expect(await exitsWithin(pid, 3_000)).toBe(true);
  });

  it('forwards to USER_PORT and DATA_PORT when they are set', async () => {
    // data-service's forward ends once both have started; user-service's waits to be stopped.
    const stub = stubs({ kubectl: '[ "$1" = get ] && exit 0\n[[ "$*" == *data-service* ]] && { sleep 0.5; exit 1; }\nexec sleep 30' });
    const { calls } = runScript('port-forward.sh', stub, { USER_PORT: '6000', DATA_PORT: '6001' });
    expect(calls.slice(1).sort()).toEqual([
      'kubectl --namespace default port-forward deployment/users-data-service 6001:8080',
      'kubectl --namespace default port-forward deployment/users-user-service 6000:8080',
    ]);
  });

  it('without a cluster says so in one line and forwards nothing (no discovery errors)', () => {
    const stub = stubs({
      kubectl: 'echo "The connection to the server localhost:8080 was refused - did you specify the right host or port?" >&2\nexit 1',
    });
    const { code, stderr, calls } = runScript('port-forward.sh', stub);
    expect(code).toBe(1);
    expect(stderr).toBe('no cluster: make kind-up or make minikube-up\n');
    expect(calls).toEqual(['kubectl get --raw /version --request-timeout=5s']);
  });
});

/** A signalled process can take a moment to go; a zombie (state Z, not yet reaped) counts as gone. */
async function exitsWithin(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let alive: boolean;
    try {
      process.kill(pid, 0);
      const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
      alive = !/^\d+ \(.*\) Z/.test(stat);
    } catch {
      alive = false;
    }
    if (!alive) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
