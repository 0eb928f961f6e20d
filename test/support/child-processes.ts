// The child processes of this process whose command line contains a given argument, from Linux
// /proc: how a test finds a node it spawned when the spawning helper gave up on it (a start timeout)
// without handing back its handle, so that it can still end it rather than leave it running.

import { readdirSync, readFileSync } from 'node:fs';

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // The process is gone.
  }
}

/** Pids of this process's live children with `argument` among their command-line arguments. */
export function childPidsWithArgument(argument: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'.
      const stat = readOrEmpty(`/proc/${pid}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === process.pid && readOrEmpty(`/proc/${pid}/cmdline`).split('\0').includes(argument);
    });
}
