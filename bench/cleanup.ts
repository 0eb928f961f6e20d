// Stops what a benchmark started (servers, clusters, temporary directories) when the run is
// interrupted: `finally` blocks cover errors, but not Ctrl-C or a SIGTERM, which end the process
// without unwinding. On a signal the registered stops run one at a time, newest first (as `finally`
// blocks would); each `stop` runs once, whichever comes first.

import type { ChildProcess } from 'node:child_process';
import { progress } from './measure.js';

const pending = new Set<() => Promise<void>>();
let interrupted = false;

async function interrupt(signal: NodeJS.Signals): Promise<void> {
  if (interrupted) return;
  interrupted = true;
  progress(`${signal}: stopping everything this benchmark started`);
  for (const stop of [...pending].reverse()) await stop().catch((error: Error) => progress(`while stopping: ${error.message}`));
  process.exit(130);
}

/** Registers `stop` for an interrupted run; returns `stop`, made idempotent, to call in `finally`. */
export function onInterrupt(stop: () => Promise<void>): () => Promise<void> {
  if (pending.size === 0 && !interrupted) {
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
  }
  let done: Promise<void> | undefined;
  const once = (): Promise<void> => {
    pending.delete(once);
    if (pending.size === 0 && !interrupted) {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
    return (done ??= stop());
  };
  pending.add(once);
  return once;
}

/**
 * Stops a child started `detached` (its own process group): SIGTERM, up to `timeoutMs` for it to
 * exit (`exited` settles when it does), then SIGKILL for whatever is left of its group, so that
 * nothing it started outlives it.
 */
export async function stopProcessGroup(child: ChildProcess, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // Nothing is left of the group.
  }
}
