// Waiting for a child process to end, bounded: a child that does not exit (a stop that hangs, a
// refusal that never comes) is killed and the test fails saying which, instead of waiting forever.

import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

const EXIT_WAIT_MS = 60_000;

/** The exit code of `child` (null when a signal ended it) once it has exited. */
export async function exitOf(child: ChildProcess, what: string, timeoutMs = EXIT_WAIT_MS): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  try {
    const [code] = (await once(child, 'exit', { signal: AbortSignal.timeout(timeoutMs) })) as [number | null];
    return code;
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
    child.kill('SIGKILL');
    throw new Error(`${what} did not exit within ${timeoutMs / 1000} s; it was killed`);
  }
}
