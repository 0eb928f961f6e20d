// Runs the real `coco` command (bin/coco.js) as a child process and captures what it printed.

import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './paths.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

const CLI_TIMEOUT_MS = 60_000;

/** `cwd`: the directory it runs in (default: the test's). */
export function runCoco(args: string[], options: { cwd?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin', 'coco.js'), ...args], { encoding: 'utf8', timeout: CLI_TIMEOUT_MS, ...options });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** runCoco without blocking this process: for a command that talks to servers this test runs. */
export async function runCocoAsync(args: string[], options: { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 'coco.js'), ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? CLI_TIMEOUT_MS });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number' && failed.stdout === undefined) throw error;
    return { status: typeof failed.code === 'number' ? failed.code : null, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}
