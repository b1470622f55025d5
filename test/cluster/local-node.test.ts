// The local node (make cluster-up) is a real Kubernetes: a Deployment's pod becomes Ready on its
// readiness probe, a Service name resolves through CoreDNS from another pod and its ClusterIP
// reaches the pod through kube-proxy, kubectl port-forward, logs and exec work, a deleted pod comes
// back, and cluster-down leaves this machine as it found it.
//
// The test pods run busybox (Debian's static build) in an image made here FROM scratch: no registry.

import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/free-port.ts';
import { cannotRun, eventually, hostSnapshot, kubectl, run, runScript, settings, startKubectl } from './local-node.ts';

const reason = cannotRun();
if (reason && process.env.CI) throw new Error(`CI must run the local node, but ${reason}`);
if (reason) console.log(`skipped: ${reason}`);

const namespace = 'local-node-check';
const probeImage = 'localhost/local-node-probe:busybox';

function ensureBusybox(): string {
  const busybox = '/bin/busybox';
  if (!existsSync(busybox) || !run('file', ['-L', busybox]).includes('statically linked')) {
    const install = () => run('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=300', 'busybox-static'], { timeoutMs: 300_000 });
    try {
      install();
    } catch {
      run('apt-get', ['update', '-qq'], { timeoutMs: 300_000 });
      install();
    }
  }
  return busybox;
}

/** A FROM-scratch image holding only static busybox, imported into the node's containerd. */
function importProbeImage(): void {
  const work = mkdtempSync(path.join(tmpdir(), 'local-node-probe-'));
  try {
    copyFileSync(ensureBusybox(), path.join(work, 'busybox'));
    writeFileSync(path.join(work, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nUSER 65534:65534\n');
    run('docker', ['build', '--quiet', '--tag', probeImage, work], { timeoutMs: 300_000 });
    run('docker', ['save', '--output', path.join(work, 'image.tar'), probeImage], { timeoutMs: 120_000 });
    run(path.join(settings.CONTAINERD_BIN!, 'ctr'), ['--address', settings.CONTAINERD_SOCKET!, '--namespace', 'k8s.io', 'images', 'import', path.join(work, 'image.tar')]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const manifests = `
apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: ${namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: RuntimeDefault } }
      containers:
        - name: web
          image: ${probeImage}
          imagePullPolicy: Never
          command: ["/bin/sh", "-c", "mkdir -p /tmp/www && echo \\"hello from $HOSTNAME\\" > /tmp/www/index.html && echo serving && exec httpd -f -v -p 8080 -h /tmp/www"]
          ports: [{ containerPort: 8080 }]
          readinessProbe:
            httpGet: { path: /index.html, port: 8080 }
            periodSeconds: 1
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          volumeMounts: [{ name: tmp, mountPath: /tmp }]
      volumes: [{ name: tmp, emptyDir: {} }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${namespace} }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: ${namespace} }
spec:
  securityContext: { runAsNonRoot: true, runAsUser: 65534 }
  containers:
    - name: client
      image: ${probeImage}
      imagePullPolicy: Never
      command: ["/bin/sh", "-c", "exec sleep 86400"]
`;

/** The output of a command that must fail. */
function failureOutput(command: () => unknown): string {
  try {
    command();
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
  throw new Error('the command succeeded');
}

const webPods = () => kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']).trim().split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]);

describe.skipIf(reason)('the local node', () => {
  let before: Record<string, string>;

  beforeAll(() => {
    // Start from nothing, so the snapshot is of this machine without the node.
    runScript('k8s-dev/local-node/down.sh', 300_000);
    before = hostSnapshot();
    const up = runScript('k8s-dev/local-node/up.sh', 50 * 60_000);
    if (up.status !== 0) throw new Error(`make cluster-up failed: ${up.stderr.trim().split('\n').pop()}`);
    importProbeImage();
    kubectl(['apply', '-f', '-'], { input: manifests });
  }, 55 * 60_000);

  afterAll(() => {
    // A failed test must not leave the node running; the teardown test below checks the result.
    if (existsSync(settings.LOCAL_NODE_STATE!)) runScript('k8s-dev/local-node/down.sh', 300_000);
  }, 300_000);

  it('has one Ready node, reporting the pinned Kubernetes version', () => {
    const nodes = kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status} {.status.nodeInfo.kubeletVersion}{"\\n"}{end}']).trim();
    const version = run('awk', ['$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }', 'k8s-dev/local-node/go/kubernetes/go.mod']).trim();
    expect(nodes).toBe(`${settings.NODE_NAME} True ${version}`);
    expect(JSON.parse(kubectl(['version', '-o', 'json'])).serverVersion.gitVersion).toBe(version);
  });

  it("runs a Deployment's pod to Ready through its readiness probe", async () => {
    await eventually('the web pod is Ready', 180_000, () => {
      const pods = webPods();
      expect(pods).toHaveLength(1);
      expect(pods[0]![1]).toBe('True');
    });
    await eventually('the client pod is running', 120_000, () => expect(kubectl(['-n', namespace, 'get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])).toBe('Running'));
  }, 300_000);

  // busybox's nslookup has its own resolver; its wget and nc, linked statically against glibc, cannot
  // resolve names, so the ClusterIP is reached by address.
  const httpGet = (host: string, port: number) => kubectl(['-n', namespace, 'exec', 'client', '--', 'sh', '-c', `printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 5 ${host} ${port}`]);

  it('resolves the Service name through CoreDNS from another pod (kubectl exec), and its ClusterIP reaches the pod through kube-proxy', async () => {
    const clusterIp = kubectl(['-n', namespace, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    const lookup = await eventually('the name resolves', 60_000, () => kubectl(['-n', namespace, 'exec', 'client', '--', 'nslookup', `web.${namespace}.svc.cluster.local`]));
    expect(lookup).toMatch(new RegExp(`Address:\\s+${clusterIp.replaceAll('.', '\\.')}$`, 'm'));
    const [pod] = webPods()[0]!;
    const answer = await eventually('the Service answers', 60_000, () => httpGet(clusterIp, 80));
    expect(answer).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(answer.trim().split('\n').pop()).toBe(`hello from ${pod}`);
  }, 180_000);

  it('answers no name outside the cluster and lets no pod reach beyond this machine', () => {
    expect(failureOutput(() => kubectl(['-n', namespace, 'exec', 'client', '--', 'nslookup', 'example.com']))).toContain('SERVFAIL');
    // TEST-NET-1 (RFC 5737): no host has it; the node's egress rule refuses it at once.
    expect(failureOutput(() => kubectl(['-n', namespace, 'exec', 'client', '--', 'sh', '-c', 'nc -w 3 192.0.2.1 80 </dev/null']))).toContain('Network is unreachable');
  });

  it('forwards a local port to the pod with kubectl port-forward, and curl on this machine gets the answer', async () => {
    const [pod] = webPods()[0]!;
    const port = await freePort();
    const forward = startKubectl(['-n', namespace, 'port-forward', `pod/${pod}`, `${port}:8080`]);
    try {
      const body = await eventually('the forwarded port answers', 30_000, () => run('curl', ['-fsS', '--max-time', '5', `http://127.0.0.1:${port}/index.html`]));
      expect(body.trim()).toBe(`hello from ${pod}`);
    } finally {
      forward.kill();
    }
  }, 60_000);

  it('shows the container log with kubectl logs', () => {
    const [pod] = webPods()[0]!;
    expect(kubectl(['-n', namespace, 'logs', pod])).toContain('serving');
  });

  it('brings a new pod when the pod is deleted', async () => {
    const [old] = webPods()[0]!;
    kubectl(['-n', namespace, 'delete', 'pod', old, '--wait=false']);
    await eventually('a new web pod is Ready', 180_000, () => {
      const ready = webPods().filter(([name, status]) => name !== old && status === 'True');
      expect(ready).toHaveLength(1);
    });
  }, 240_000);

  it('make cluster-up again on the running node restarts nothing, and Services keep routing', async () => {
    const pids = path.join(settings.LOCAL_NODE_RUN!, 'pids');
    const daemons = () => Object.fromEntries(readdirSync(pids).map((file) => [file, readFileSync(path.join(pids, file), 'utf8').trim()]));
    const alive = (pid: string) => {
      try {
        process.kill(Number(pid), 0);
        return true;
      } catch {
        return false;
      }
    };
    const before = daemons();
    expect(runScript('k8s-dev/local-node/up.sh', 300_000).status).toBe(0);
    // kube-proxy used to end itself a moment after its configuration file was rewritten.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    expect(daemons()).toEqual(before);
    expect(Object.entries(before).filter(([, pid]) => !alive(pid)).map(([file]) => file)).toEqual([]);
    const clusterIp = kubectl(['-n', namespace, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}']).trim();
    expect(httpGet(clusterIp, 80)).toMatch(/^HTTP\/1\.[01] 200 /);
  }, 360_000);

  it('cluster-down removes every process, mount, interface, iptables rule, cgroup and context it made', () => {
    const down = runScript('k8s-dev/local-node/down.sh', 300_000);
    expect(down.status).toBe(0);
    const after = hostSnapshot();
    for (const key of Object.keys(before)) expect.soft(after[key], key).toBe(before[key]);
  }, 300_000);
});
