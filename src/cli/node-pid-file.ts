// The node a sandbox workspace directory runs, found from the `node.pid` the node writes: a
// sandbox refuses a workspace whose nodes still run (a second network on the same identities and
// ports would fight the first), and on Ctrl-C stops nodes restarted by hand as well as its own.

import { readFileSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const STOP_POLL_MS = 100;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pid in `dir/node.pid` if that process is still a Coco node running in `dir`: on Linux its
 * working directory and command line say so (a pid can be reused); elsewhere, that it is alive.
 */
export function runningNodePid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(`${dir}/node.pid`, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || !isAlive(pid)) return undefined;
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.includes('node') && args.includes('--config') && readlinkSync(`/proc/${pid}/cwd`) === resolve(dir) ? pid : undefined;
  } catch {
    return process.platform === 'linux' ? undefined : pid;
  }
}

/** Sends SIGTERM (a clean stop), then SIGKILL if the process has not ended after `timeoutMs`. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  process.kill(pid, 'SIGTERM');
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      return;
    }
    await sleep(STOP_POLL_MS);
  }
}
