// `kubectl port-forward` in-process: a local TCP server whose every connection is tunnelled to one
// pod's port through the API server, so the flow's plain HTTP calls reach the pod.

import net from 'node:net';
import { Writable } from 'node:stream';
import { PortForward, type KubeConfig } from '@kubernetes/client-node';
import type { WebSocket } from 'ws';

export interface Forward {
  /** http://127.0.0.1:<local port> */
  url: string;
  close(): Promise<void>;
}

export interface ForwardTarget {
  namespace: string;
  podName: string;
  port: number;
  /** 0 picks a free port. */
  localPort: number;
  /** Errors the kubelet reports for the pod's port (e.g. connection refused), and tunnel failures. */
  onError: (message: string) => void;
}

export async function forwardLocalPort(kubeConfig: KubeConfig, target: ForwardTarget): Promise<Forward> {
  const forwarder = new PortForward(kubeConfig);
  const open = new Set<{ socket: net.Socket; tunnel?: WebSocket }>();
  const where = `pod ${target.namespace}/${target.podName}:${target.port}`;

  const server = net.createServer((socket) => {
    const pair: { socket: net.Socket; tunnel?: WebSocket } = { socket };
    open.add(pair);
    // Writes can race a client that already hung up; that is not worth crashing the run.
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      open.delete(pair);
      pair.tunnel?.close();
    });
    const kubeletErrors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        // The error channel opens with the port number, which the library strips to nothing.
        const message = chunk.toString('utf8').trim();
        if (message) target.onError(`${where}: ${message}`);
        done();
      },
    });
    // Data the client sends before the tunnel opens stays buffered: nothing reads the socket yet.
    forwarder
      .portForward(target.namespace, target.podName, [target.port], socket, kubeletErrors, socket)
      .then((opened) => {
        // Without a retry count the library opens one tunnel and hands it back, never a reconnector.
        const tunnel = opened as WebSocket;
        pair.tunnel = tunnel;
        tunnel.on('close', () => socket.end());
        if (socket.destroyed) tunnel.close();
      })
      .catch((error: unknown) => {
        target.onError(`${where}: tunnel failed: ${error instanceof Error ? error.message : String(error)}`);
        socket.destroy();
      });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(target.localPort, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const { socket, tunnel } of open) {
        tunnel?.close();
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
