// Stand-ins for tools that cannot run here (helm against a cluster, kubectl, kind, minikube,
// skaffold, docker) or must not run from a test (npm inside npm test): each logs "name args…"
// and then runs the given bash body, so a test asserts which tool a target ran, with which values.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Stubs {
  dir: string;
  log: string;
  /** Every stub call so far, in order, as "name args…". */
  calls(): string[];
  /** PATH with only the stubs and the base system: real tools elsewhere on this machine stay out of reach. */
  path: string;
}

export function stubs(bodies: Record<string, string>): Stubs {
  const dir = mkdtempSync(path.join(tmpdir(), 'devloop-stubs-'));
  const log = path.join(dir, 'calls.log');
  writeFileSync(log, '');
  for (const [name, body] of Object.entries(bodies)) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/usr/bin/env bash\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { dir, log, calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean), path: `${dir}:/usr/bin:/bin` };
}
