import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's version, from the nearest package.json above this module (source or compiled). */
export const version: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  }
  return 'unknown';
})();

/**
 * The source revision the process was built from: the images set BUILD_REVISION from their
 * REVISION build argument (the git commit); anything else runs as "unknown".
 */
export const revision: string = process.env.BUILD_REVISION?.trim() || 'unknown';
