// Where a benchmark's cores went: the CPU time the load generator (this process) and each server
// process used during a measured run, all threads, read from /proc. A throughput ratio alone hides
// whether a figure is the server's limit or the load generator's; CPU per request shows it. Linux
// only: elsewhere the figures are absent and the benchmark says so.

import { readFileSync } from 'node:fs';

/** /proc counts CPU time in clock ticks of USER_HZ, 100 per second on Linux. */
const TICKS_PER_SECOND = 100;

/** CPU time a process has used so far, in ms, all its threads; undefined if /proc cannot tell. */
export function processCpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: fields are counted after it, from the
  // state (field 3); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : undefined;
}

/** CPU used by each named process between `start` and `stop`, with this process as 'load generator'. */
export class CpuMeter {
  readonly #pids: ReadonlyMap<string, number>;
  readonly #startMs: Map<string, number | undefined>;
  readonly #loadStart = process.cpuUsage();

  private constructor(pids: ReadonlyMap<string, number>) {
    this.#pids = pids;
    this.#startMs = new Map([...pids].map(([name, pid]) => [name, processCpuMs(pid)]));
  }

  static start(pids: ReadonlyMap<string, number>): CpuMeter {
    return new CpuMeter(pids);
  }

  /** CPU ms per process since `start` (undefined where /proc could not tell), the load generator first. */
  stop(): Map<string, number | undefined> {
    const load = process.cpuUsage(this.#loadStart);
    const used = new Map<string, number | undefined>([[LOAD_GENERATOR, (load.user + load.system) / 1000]]);
    for (const [name, pid] of this.#pids) {
      const before = this.#startMs.get(name);
      const after = processCpuMs(pid);
      used.set(name, before === undefined || after === undefined ? undefined : after - before);
    }
    return used;
  }
}

export const LOAD_GENERATOR = 'load generator';

/** CPU per request in whole µs ("1,234"), or "n/a" where it is not known. */
export function microsPerRequest(cpuMs: number | undefined, requests: number): string {
  return cpuMs === undefined || requests === 0 ? 'n/a' : Math.round((cpuMs * 1000) / requests).toLocaleString('en-US');
}

/** "123 µs" of CPU per request, or "n/a" where it is not known. */
export function cpuPerRequest(cpuMs: number | undefined, requests: number): string {
  const micros = microsPerRequest(cpuMs, requests);
  return micros === 'n/a' ? micros : `${micros} µs`;
}
