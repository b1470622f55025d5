// Reads and writes that keep running while the tests roll, roll back and break the release. They go
// to the Services' ClusterIPs from this machine (kube-proxy routes the node's own traffic), as an
// Ingress would: `kubectl port-forward` sticks to one pod and drops with it, so a rollout through it
// always loses requests, whatever the chart does.

export interface Failure {
  request: string;
  outcome: string;
}

export interface Traffic {
  stop(): Promise<{ requests: number; failures: Failure[]; acknowledged: string[]; refused: { status: number; retryAfter: string | null }[] }>;
}

export function startTraffic(options: { userUrl: string; dataUrl: string; token: string | undefined; prefix: string; workers?: number; acceptRefusals?: boolean }): Traffic {
  let running = true;
  let requests = 0;
  let sequence = 0;
  const failures: Failure[] = [];
  const acknowledged: string[] = [];
  const refused: { status: number; retryAfter: string | null }[] = [];
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) };

  const worker = async () => {
    while (running) {
      const name = `${options.prefix}-${sequence++}`;
      requests += 1;
      try {
        const write = await fetch(`${options.userUrl}/register`, { method: 'POST', headers, body: JSON.stringify({ name, info: 'under load' }), signal: AbortSignal.timeout(10_000) });
        await write.body?.cancel();
        if (write.status === 201) acknowledged.push(name);
        else if (options.acceptRefusals && write.status === 503) refused.push({ status: write.status, retryAfter: write.headers.get('retry-after') });
        else failures.push({ request: `POST /register ${name}`, outcome: `HTTP ${write.status}` });
      } catch (error) {
        failures.push({ request: `POST /register ${name}`, outcome: String(error) });
      }
      const read = acknowledged.at(-1);
      if (!read) continue;
      requests += 1;
      try {
        const answer = await fetch(`${options.dataUrl}/user/${read}`, { signal: AbortSignal.timeout(10_000) });
        await answer.body?.cancel();
        if (options.acceptRefusals && answer.status === 503) refused.push({ status: answer.status, retryAfter: answer.headers.get('retry-after') });
        else if (answer.status !== 200) failures.push({ request: `GET /user/${read}`, outcome: `HTTP ${answer.status}` });
      } catch (error) {
        failures.push({ request: `GET /user/${read}`, outcome: String(error) });
      }
    }
  };
  const workers = Array.from({ length: options.workers ?? 4 }, worker);
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { requests, failures, acknowledged, refused };
    },
  };
}
