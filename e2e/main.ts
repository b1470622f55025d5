// `npm run e2e`: the user flow against the services running in the current kubectl context.
// Waits for both Deployments to roll out, port-forwards to a ready pod of each, runs the same
// register → get → update → get → delete → get flow as the chart's contract test, prints a summary.
// Exit codes: see exit-codes.ts (0 passed, 1 failed, 77 no reachable cluster).

import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { obtainToken } from './auth.ts';
import { ensureReachable, loadKubeConfig, NoClusterError } from './cluster.ts';
import { waitForRollout, type RolledOut } from './deployments.ts';
import { EXIT_FAILED, EXIT_NO_CLUSTER, EXIT_PASSED } from './exit-codes.ts';
import { runUserFlow, type FlowStep } from './flow.ts';
import { forwardLocalPort, type Forward } from './port-forward.ts';
import { readSettings, type Settings } from './settings.ts';

const log = (line: string): void => void process.stderr.write(`e2e: ${line}\n`);

async function main(): Promise<number> {
  const settings = readSettings(process.env);

  let kubeConfig: KubeConfig;
  let cluster: string;
  try {
    kubeConfig = loadKubeConfig(process.env);
    cluster = await ensureReachable(kubeConfig, settings.connectTimeoutMs);
  } catch (error) {
    if (error instanceof NoClusterError) {
      log(`skipped, no reachable Kubernetes cluster: ${error.message}`);
      return EXIT_NO_CLUSTER;
    }
    throw error;
  }

  const namespace = settings.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  log(`${cluster}, namespace "${namespace}"`);

  const waitOptions = { namespace, timeoutMs: settings.rolloutTimeoutMs, pollMs: settings.pollMs, onProgress: log };
  // Sequential on purpose: the second wait is usually instant once the first is done.
  const user = await waitForRollout(kubeConfig, settings.userDeployment, waitOptions);
  const data = await waitForRollout(kubeConfig, settings.dataDeployment, waitOptions);

  const forwards: Forward[] = [];
  try {
    const userForward = await forwardLocalPort(kubeConfig, { namespace, podName: user.podName, port: user.port, localPort: settings.userLocalPort, onError: log });
    forwards.push(userForward);
    const dataForward = await forwardLocalPort(kubeConfig, { namespace, podName: data.podName, port: data.port, localPort: settings.dataLocalPort, onError: log });
    forwards.push(dataForward);

    const { token, origin } = await obtainToken(kubeConfig, namespace, settings.release, process.env);
    log(`token: ${origin}`);
    const started = performance.now();
    const steps = await runUserFlow({ userUrl: userForward.url, dataUrl: dataForward.url, coherenceTimeoutMs: settings.coherenceTimeoutMs, ...(token && { token }) });
    printSummary(settings, { user, data }, { user: userForward, data: dataForward }, steps, Math.round(performance.now() - started));
    return EXIT_PASSED;
  } finally {
    await Promise.all(forwards.map((forward) => forward.close()));
  }
}

function printSummary(
  settings: Settings,
  pods: { user: RolledOut; data: RolledOut },
  forwards: { user: Forward; data: Forward },
  steps: FlowStep[],
  totalMs: number,
): void {
  const lines = [
    'e2e: passed',
    `  ${settings.userDeployment}: pod ${pods.user.podName}:${pods.user.port} via ${forwards.user.url}`,
    `  ${settings.dataDeployment}: pod ${pods.data.podName}:${pods.data.port} via ${forwards.data.url}`,
    ...steps.map(({ step, ms }) => `  ${step.padEnd(22)} ${String(ms).padStart(6)} ms`),
    `  ${'total'.padEnd(22)} ${String(totalMs).padStart(6)} ms`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function describe(error: unknown): string {
  // The client's API errors carry every response header; the server's own message is what helps.
  if (error instanceof ApiException) {
    const body = error.body as { message?: string } | string | undefined;
    const message = typeof body === 'object' && body?.message ? body.message : String(body ?? '');
    return `the API server answered ${error.code}: ${message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

let exitCode: number;
try {
  exitCode = await main();
} catch (error) {
  log(`FAILED: ${describe(error)}`);
  exitCode = EXIT_FAILED;
}
// Exit as soon as the output is flushed (pipes can be asynchronous): fetch would otherwise keep
// idle connections, and the process, alive for a few more seconds.
process.stdout.write('', () => process.stderr.write('', () => process.exit(exitCode)));
