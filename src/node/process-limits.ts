// This process's soft resource limits as Linux shows them in /proc/self/limits ("Max open files",
// "Max address space"): what the node fits its sessions into and reports as its memory ceiling.

import { readFileSync } from 'node:fs';

/** The soft limit on the line named `name` in /proc/self/limits' text; undefined when unlimited or not there. */
export function softLimit(limits: string, name: string): number | undefined {
  const soft = new RegExp(`^${name}\\s+(\\S+)`, 'm').exec(limits)?.[1];
  const value = soft === undefined || soft === 'unlimited' ? NaN : Number(soft);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** This process's soft limit named `name`; undefined when unlimited, or not on Linux (no such file). */
export function readSoftLimit(name: string): number | undefined {
  try {
    return softLimit(readFileSync('/proc/self/limits', 'utf8'), name);
  } catch {
    return undefined;
  }
}
