// The `docker` command line, run as a child process: the test drives the same CLI a person would
// (`cli` names another one with the same command line, e.g. podman).
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** True when the command was killed for running past its time limit. */
  timedOut: boolean;
}

export interface DockerOptions {
  cwd?: string;
  timeoutMs?: number;
  cli?: string;
}

export function docker(args: string[], options: DockerOptions = {}): Promise<CommandResult> {
  return new Promise((done, fail) => {
    const child = spawn(options.cli ?? 'docker', args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, timedOut });
    });
  });
}

/** Runs docker and returns stdout, or throws with the tail of its output. */
export async function dockerOk(args: string[], options: DockerOptions = {}): Promise<string> {
  const result = await docker(args, options);
  if (result.code !== 0) {
    const why = result.timedOut ? 'timed out' : `exited ${result.code}`;
    throw new Error(`${options.cli ?? 'docker'} ${args[0]} ${why}:\n${tail(result.stderr || result.stdout, 30)}`);
  }
  return result.stdout;
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
