// Runs the real `coco` command (bin/coco.js) as a child process and captures what it printed.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `cwd`: the directory it runs in (default: the test's). */
export function runCoco(args: string[], options: { cwd?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'coco.js'), ...args], { encoding: 'utf8', timeout: 60_000, ...options });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
