// PostgreSQL and Redis from this machine's Debian packages, each a server of its own (own data
// folder, own port) listening on the node's bridge address, so that pods reach them by address:
// the chart's "external database" path (postgresql.enabled=false, redis.enabled=false). The
// machine's own servers on 127.0.0.1 are not touched.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../scripts/free-port.ts';
import { eventually, run } from './local-node.ts';

function pgBin(tool: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  return `/usr/lib/postgresql/${versions[0]}/bin/${tool}`;
}

const ids = (user: string) => ({ uid: Number(run('id', ['-u', user]).trim()), gid: Number(run('id', ['-g', user]).trim()) });

export interface ExternalServer {
  host: string;
  port: number;
  password: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

async function ended(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A server process that can be stopped and started again on the same folder, address and port. */
function managedServer(settings: { host: string; port: number; password: string; folder: string; spawnServer: () => ChildProcess; ready: () => void; what: string }): ExternalServer {
  let child: ChildProcess | undefined;
  return {
    host: settings.host,
    port: settings.port,
    password: settings.password,
    async start() {
      child = settings.spawnServer();
      await eventually(`the external ${settings.what} answers`, 30_000, settings.ready);
    },
    async stop() {
      await ended(child);
    },
    async remove() {
      await ended(child);
      rmSync(settings.folder, { recursive: true, force: true });
    },
  };
}

/** A PostgreSQL server with a `users` role (password) owning a `users` database, for the pods' subnet. */
export async function externalPostgres(host: string, podCidr: string): Promise<ExternalServer> {
  const folder = mkdtempSync(path.join(tmpdir(), 'external-postgres-'));
  const data = path.join(folder, 'data');
  const { uid, gid } = ids('postgres');
  chownSync(folder, uid, gid);
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  writeFileSync(path.join(folder, 'pw'), 'postgres-admin\n');
  chownSync(path.join(folder, 'pw'), uid, gid);
  run('runuser', ['-u', 'postgres', '--', pgBin('initdb'), '-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${path.join(folder, 'pw')}`]);
  appendFileSync(path.join(data, 'pg_hba.conf'), `host all all ${podCidr} scram-sha-256\nhost all all ${host}/32 scram-sha-256\n`);
  const server = managedServer({
    host,
    port,
    password,
    folder,
    what: 'PostgreSQL',
    spawnServer: () => spawn('runuser', ['-u', 'postgres', '--', pgBin('postgres'), '-D', data, '-h', host, '-p', String(port), '-k', folder], { stdio: 'ignore' }),
    ready: () => void run(pgBin('pg_isready'), ['-h', host, '-p', String(port)]),
  });
  await server.start();
  const psql = (sql: string) => run('runuser', ['-u', 'postgres', '--', pgBin('psql'), '-h', folder, '-p', String(port), '-v', 'ON_ERROR_STOP=1', '-c', sql]);
  psql(`create role users login password '${password}'`);
  psql('create database users owner users');
  return server;
}

/** psql against the external server as its owner, for the tests' own checks. */
export function queryExternal(server: ExternalServer, sql: string): string {
  return run(pgBin('psql'), ['-h', server.host, '-p', String(server.port), '-U', 'users', '-d', 'users', '-At', '-c', sql], { env: { ...process.env, PGPASSWORD: server.password } }).trim();
}

/** A Redis server that requires a password, without persistence. */
export async function externalRedis(host: string): Promise<ExternalServer> {
  const folder = mkdtempSync(path.join(tmpdir(), 'external-redis-'));
  chmodSync(folder, 0o700);
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  const config = path.join(folder, 'redis.conf');
  writeFileSync(config, `bind ${host}\nport ${port}\nrequirepass ${password}\nsave ""\nappendonly no\ndir ${folder}\n`, { mode: 0o600 });
  const server = managedServer({
    host,
    port,
    password,
    folder,
    what: 'Redis',
    spawnServer: () => spawn('redis-server', [config], { stdio: 'ignore' }),
    ready: () => {
      if (!run('redis-cli', ['-h', host, '-p', String(port), '--no-auth-warning', '-a', password, 'ping']).includes('PONG')) throw new Error('no PONG');
    },
  });
  await server.start();
  return server;
}
