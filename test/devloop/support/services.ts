// The real user-service and data-service from dist/, on a scratch database and Redis key prefix
// (removed with every key the services wrote when they stop), for tests that need live services
// behind a (fake) cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createScratchBackends } from '../../../scripts/scratch-backends.ts';
import { repoRoot } from './repo.ts';

export interface RunningServices {
  userPort: number;
  dataPort: number;
  stop(): Promise<void>;
}

const entryPoints = {
  user: path.join(repoRoot, 'dist/services/user/src/main.js'),
  data: path.join(repoRoot, 'dist/services/data/src/main.js'),
};

export async function startServices(userPort: number, dataPort: number, jwtSecret: string): Promise<RunningServices> {
  for (const entry of Object.values(entryPoints)) {
    if (!existsSync(entry)) throw new Error(`${path.relative(repoRoot, entry)} is missing: run \`npm run build\` first (npm test does)`);
  }
  const scratch = await createScratchBackends('devloop_e2e');
  // Connection URLs would win over the scratch space's PG* and REDIS_* variables.
  const { DATABASE_URL: _database, REDIS_URL: _redis, ...inherited } = process.env;
  const env = { ...inherited, ...scratch.env, LOG_LEVEL: 'warn', JWT_SECRET: jwtSecret };
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await scratch.dispose();
  };

  try {
    // user-service first: it applies the schema that data-service's readiness waits for.
    children.push(launch(entryPoints.user, { ...env, PORT: String(userPort) }));
    await waitReady(userPort, children[0]!);
    children.push(launch(entryPoints.data, { ...env, PORT: String(dataPort) }));
    await waitReady(dataPort, children[1]!);
  } catch (error) {
    await stop();
    throw error;
  }
  return { userPort, dataPort, stop };
}

function launch(entry: string, env: NodeJS.ProcessEnv): ChildProcess {
  // process.execPath: the Node 24 that runs the tests, not whichever node is first on PATH.
  const child = spawn(process.execPath, [entry], { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`[${path.basename(path.dirname(path.dirname(entry)))}] ${chunk.toString()}`));
  return child;
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service on port ${port} exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service on port ${port} not ready within 20 s`);
}
