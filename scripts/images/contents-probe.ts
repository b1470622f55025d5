// What an image holds, seen from inside it: run with `node -e` in the image (as some non-root uid)
// so the answer reflects the real filesystem, its owners and modes, not the build's intentions.

export interface ImageContents {
  uid: number;
  node: string;
  files: number;
  /** Entries that a uid other than their owner cannot read (or, for directories, enter). */
  unreadable: string[];
  /** Entries writable by group or others, or owned by the uid the service runs as. */
  writableByService: string[];
  /** TypeScript sources, tests or dev dependencies that only the build stage should have had. */
  leftovers: string[];
  /** What writing to the application directory did (it should fail: the root is read-only). */
  appWrite: string;
  /** What writing to /tmp did (it should work: the one writable place). */
  tmpWrite: string;
}

/**
 * JavaScript for `node -e`. DEV_ONLY_PACKAGES (the lockfile's paths of packages needed only for
 * development) and OTHER_SERVICE arrive through the environment.
 */
export const contentsProbeSource = String.raw`
const { readdirSync, lstatSync, writeFileSync, rmSync } = process.getBuiltinModule('node:fs');
const { join, relative } = process.getBuiltinModule('node:path');
const root = process.cwd();
const devOnlyPackages = JSON.parse(process.env.DEV_ONLY_PACKAGES || '[]');
const serviceUid = 1000;
const out = { uid: process.getuid(), node: process.version, files: 0, unreadable: [], writableByService: [], leftovers: [] };
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const rel = relative(root, path);
    const stat = lstatSync(path);
    out.files += 1;
    if (stat.isSymbolicLink()) continue;
    const mode = stat.mode & 0o777;
    if (!(mode & 0o004) || (stat.isDirectory() && !(mode & 0o001))) out.unreadable.push(rel);
    if (mode & 0o022 || stat.uid === serviceUid) out.writableByService.push(rel);
    const inDependencies = rel.startsWith('node_modules/');
    if (!inDependencies && /\.(ts|tsx|mts|cts)$/.test(name)) out.leftovers.push(rel);
    if (!inDependencies && /^(test|tests|__tests__)$/.test(name)) out.leftovers.push(rel);
    if (stat.isDirectory()) walk(path);
  }
};
walk(root);
for (const name of [...devOnlyPackages, 'services', 'test', 'e2e', 'helm', '.git', '.env', 'tsconfig.json', 'dist/services/' + process.env.OTHER_SERVICE]) {
  try { lstatSync(join(root, name)); out.leftovers.push(name); } catch {}
}
const attempt = (file) => { try { writeFileSync(file, 'x'); rmSync(file); return 'written'; } catch (e) { return e.code; } };
out.appWrite = attempt(join(root, '.probe'));
out.tmpWrite = attempt('/tmp/.probe');
process.stdout.write(JSON.stringify(out));
`;
