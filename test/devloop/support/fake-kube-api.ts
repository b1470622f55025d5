// A stand-in for the Kubernetes API server, which cannot run on this machine: it serves only what
// `npm run e2e` calls (version, one Deployment at a time, pods by label selector, and pod
// port-forward over WebSocket with the v4.channel.k8s.io framing, through the `ws` package), with
// Deployment statuses a test scripts read by read, and Secrets (the release's signing key).
// Port-forwards reach real processes on 127.0.0.1.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import type { V1Deployment, V1DeploymentStatus, V1Pod } from '@kubernetes/client-node';
import { WebSocketServer } from 'ws';

export interface FakeDeployment {
  deployment: V1Deployment;
  /** Successive reads return these in order, then the last one forever. */
  statuses: { generation: number; status: V1DeploymentStatus }[];
}

export interface FakePod {
  pod: V1Pod;
  /** Where a port-forward to this pod really goes: 127.0.0.1:<backendPort>. */
  backendPort: number;
}

export interface FakeKubeApi {
  url: string;
  /** "GET /apis/apps/v1/…" for every request, port-forwards included. */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeKubeApi(
  port: number,
  namespace: string,
  deployments: FakeDeployment[],
  pods: FakePod[],
  /** Secrets by name, values plain (served base64 as the API does): the release's signing key. */
  secrets: Record<string, Record<string, string>> = {},
): Promise<FakeKubeApi> {
  const requests: string[] = [];
  const reads = new Map<string, number>();
  const tunnels = new Set<net.Socket>();

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const send = (code: number, body: unknown): void => {
      response.writeHead(code, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const notFound = (what: string): void =>
      send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `${what} not found`, reason: 'NotFound', code: 404 });

    if (url.pathname.replace(/\/$/, '') === '/version') {
      send(200, { major: '1', minor: '34', gitVersion: 'v1.34.0-fake', platform: 'linux/amd64' });
      return;
    }

    const deploymentPath = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && deploymentPath) {
      const [, inNamespace, name] = deploymentPath;
      const fake = deployments.find((candidate) => candidate.deployment.metadata?.name === name);
      if (inNamespace !== namespace || !fake) return notFound(`deployments.apps "${name}"`);
      const read = reads.get(name!) ?? 0;
      reads.set(name!, read + 1);
      const { generation, status } = fake.statuses[Math.min(read, fake.statuses.length - 1)]!;
      send(200, { ...fake.deployment, metadata: { ...fake.deployment.metadata, namespace, generation }, status });
      return;
    }

    const secretPath = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && secretPath) {
      const data = secretPath[1] === namespace ? secrets[secretPath[2]!] : undefined;
      if (!data) return notFound(`secrets "${secretPath[2]}"`);
      const encoded = Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]));
      send(200, { kind: 'Secret', apiVersion: 'v1', metadata: { name: secretPath[2], namespace }, type: 'Opaque', data: encoded });
      return;
    }

    const podsPath = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (request.method === 'GET' && podsPath) {
      // Equality terms only ("k=v,k2=v2"): what a Deployment's matchLabels selector renders to.
      const terms = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
      const items = podsPath[1] !== namespace ? [] : pods.map(({ pod }) => pod).filter((pod) => terms.every(([key, value]) => pod.metadata?.labels?.[key] === value));
      send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
      return;
    }

    notFound(`${request.method} ${url.pathname}`);
  });

  const webSockets = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (offered.has('v4.channel.k8s.io') ? 'v4.channel.k8s.io' : false),
  });
  server.on('upgrade', (request: IncomingMessage, socket: net.Socket, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    requests.push(`UPGRADE ${url.pathname}${url.search}`);
    const forwardPath = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(url.pathname);
    const target = pods.find(({ pod }) => forwardPath?.[1] === namespace && pod.metadata?.name === forwardPath?.[2]);
    const podPort = Number(url.searchParams.get('ports'));
    if (!target || !Number.isInteger(podPort)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    tunnels.add(socket);
    socket.on('close', () => tunnels.delete(socket));
    webSockets.handleUpgrade(request, socket, head, (webSocket) => {
      // Channel 0 carries data, channel 1 errors; each starts with the port number, little-endian.
      const portPrefix = (channel: number): Buffer => Buffer.from([channel, podPort & 0xff, podPort >> 8]);
      webSocket.send(portPrefix(0));
      webSocket.send(portPrefix(1));

      const upstream = net.connect(target.backendPort, '127.0.0.1');
      tunnels.add(upstream);
      upstream.on('data', (chunk: Buffer) => webSocket.send(Buffer.concat([Buffer.from([0]), chunk])));
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        webSocket.send(Buffer.concat([Buffer.from([1]), Buffer.from(`error forwarding port ${podPort} to pod ${target.pod.metadata?.name}: ${error.code ?? error.message}`)]));
        webSocket.close();
      });
      upstream.on('close', () => {
        tunnels.delete(upstream);
        webSocket.close();
      });
      webSocket.on('message', (payload: Buffer) => {
        if (payload[0] === 0 && payload.length > 1) upstream.write(payload.subarray(1));
      });
      webSocket.on('close', () => upstream.destroy());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const tunnel of tunnels) tunnel.destroy();
      webSockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
