// What this process's file descriptors point at, read from /proc/self/fd (Linux): to see whether a
// node running in the test's process still holds a file open.

import { readdirSync, readlinkSync } from 'node:fs';

/** Where the descriptor `fd` of this process points, if it is open. */
export function pathOf(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** How many descriptors of this process are open on `path`. */
export function descriptorsOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => pathOf(Number(fd)) === path).length;
}
