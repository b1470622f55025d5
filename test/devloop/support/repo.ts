// Paths and tools the dev-loop tests share. helm comes from ../shared/bin when that folder exists
// next to the repo (machines without a helm of their own), else from PATH.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const sharedDir = path.resolve(repoRoot, '../shared');

const sharedBin = path.join(sharedDir, 'bin');
/** PATH with ../shared/bin first, as the project's scripts use it. */
export const toolPath = existsSync(sharedBin) ? `${sharedBin}${path.delimiter}${process.env.PATH ?? ''}` : (process.env.PATH ?? '');
