// The user-visible round trip across both services: register → get → update → get → delete → get.
// Shared by the chart's contract test (services started from rendered manifests) and `npm run e2e`
// (services in a cluster), so both prove exactly the same thing.

export interface FlowTargets {
  /** Base URL of user-service, e.g. http://127.0.0.1:5000 */
  userUrl: string;
  /** Base URL of data-service, e.g. http://127.0.0.1:5001 */
  dataUrl: string;
  /** Name to register; defaults to a unique one so repeated runs never collide. */
  name?: string;
  /** How long a write may take to become visible through data-service. */
  coherenceTimeoutMs?: number;
  /** Bearer token sent with every request (writes need users:write; reads users:read when required). */
  token?: string;
}

export interface FlowStep {
  step: string;
  ms: number;
}

export class FlowError extends Error {}

interface UserBody {
  name: string;
  info: string;
  cached?: boolean;
}

export async function runUserFlow(targets: FlowTargets): Promise<FlowStep[]> {
  const name = targets.name ?? `flow-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const path = `/user/${encodeURIComponent(name)}`;
  const timeoutMs = targets.coherenceTimeoutMs ?? 2_000;
  const call = (base: string, path: string, method: string, body?: unknown) => request(base, path, method, body, targets.token);
  const steps: FlowStep[] = [];

  const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await run();
    steps.push({ step: label, ms: Math.round(performance.now() - started) });
    return result;
  };

  await step('register', async () => {
    const res = await call(targets.userUrl, '/register', 'POST', { name, info: 'first' });
    expectStatus(res, 201, 'POST /register');
  });

  await step('get (miss, then hit)', async () => {
    const first = await eventually(timeoutMs, async () => {
      const res = await call(targets.dataUrl, path, 'GET');
      return res.status === 200 ? ((await res.json()) as UserBody) : undefined;
    });
    if (first.info !== 'first') throw new FlowError(`GET ${path}: expected info "first", got ${JSON.stringify(first.info)}`);
    // The register's own NOTIFY may evict what the first read filled, so "cached soon", not "cached next".
    await eventually(timeoutMs, async () => {
      const body = (await (await call(targets.dataUrl, path, 'GET')).json()) as UserBody;
      return body.cached === true ? body : undefined;
    });
  });

  await step('update', async () => {
    const res = await call(targets.userUrl, path, 'PATCH', { info: 'second' });
    expectStatus(res, 200, `PATCH ${path}`);
  });

  await step('get after update', async () => {
    await eventually(timeoutMs, async () => {
      const res = await call(targets.dataUrl, path, 'GET');
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as UserBody;
      return body.info === 'second' ? body : undefined;
    });
  });

  await step('delete', async () => {
    const res = await call(targets.userUrl, path, 'DELETE');
    expectStatus(res, 204, `DELETE ${path}`);
  });

  await step('get after delete', async () => {
    await eventually(timeoutMs, async () => {
      const res = await call(targets.dataUrl, path, 'GET');
      await res.body?.cancel();
      return res.status === 404 ? true : undefined;
    });
  });

  return steps;
}

async function request(base: string, path: string, method: string, body?: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(5_000) };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(new URL(path, base), init);
}

function expectStatus(res: Response, status: number, what: string): void {
  if (res.status !== status) throw new FlowError(`${what}: expected ${status}, got ${res.status}`);
}

/** Polls until `probe` yields a value: writes reach data-service asynchronously (NOTIFY). */
async function eventually<T>(timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new FlowError(`not observed within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
