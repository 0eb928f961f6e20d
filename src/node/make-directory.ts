import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`: creates a directory and any missing parents, and succeeds if it exists. Node 20's
 * `mkdirSync(path, { recursive: true })` loops forever when a parent exists but mkdir under it
 * answers ENOENT (`/proc`, some network file systems), so a bad path in a configuration or on the
 * command line hung the node or the command instead of failing: here each missing directory is
 * made once, oldest first, and the first refusal is thrown as the system gave it.
 */
export function makeDirectory(path: string, mode?: number): void {
  const missing: string[] = [];
  let current = resolve(path);
  while (!existsSync(current)) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  // A file where the directory should be: mkdir throws EEXIST, as the recursive form does.
  if (missing.length === 0 && !statSync(current).isDirectory()) mkdirSync(current);
  for (const directory of missing.reverse()) {
    try {
      mkdirSync(directory, { mode });
    } catch (error) {
      // Created meanwhile (another process making the same tree) is what was wanted.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(directory).isDirectory()) throw error;
    }
  }
}
