// Out of descriptors, a node cannot take connections, and nothing tells it: libuv keeps a spare
// descriptor with which it accepts and closes the waiting connections itself, and Node hears no
// error (QA: clients failed their handshakes, the node's logs said nothing). So the node looks:
// at an interval, its open descriptors against its limit, read again each time (`prlimit` changes
// it under a running process), and near the limit a warning says what to raise.

import { readdirSync } from 'node:fs';
import { readSoftLimit } from '../node/process-limits.js';

const WATCH_INTERVAL_MS = 10_000;
/** While near the limit, the warning is repeated at most this often. */
const REPEAT_MS = 60_000;

/** The warning for `open` descriptors of `limit`, when so few are left that connections are being dropped, or soon will be. */
export function descriptorsWarning(open: number, limit: number): string | undefined {
  const spare = Math.max(8, Math.ceil(limit * 0.05));
  if (open + spare < limit) return undefined;
  return `this process has ${open} of its ${limit} file descriptors open: new client connections are dropped once none is left (libuv closes them before the node sees them); raise the node's descriptor limit (ulimit -n, systemd's LimitNOFILE=) or lower max_open_sessions_hard`;
}

/** Checks every interval until stopped; `warn` gets the warning when near the limit, at most once a minute. */
export function watchDescriptors(warn: (line: string) => void): () => void {
  let warnedAtMs = -Infinity;
  let limit: number | undefined;
  const timer = setInterval(() => {
    // Reading it takes a descriptor too: with none left, the last limit read stands.
    limit = readSoftLimit('Max open files') ?? limit;
    if (limit === undefined) return;
    let open: number;
    try {
      open = readdirSync('/proc/self/fd').length;
    } catch (error) {
      // Listing them takes a descriptor: none left is the case to report. Elsewhere (not Linux), nothing to count.
      if ((error as NodeJS.ErrnoException).code !== 'EMFILE') return;
      open = limit;
    }
    const warning = descriptorsWarning(open, limit);
    if (warning === undefined) warnedAtMs = -Infinity;
    else if (performance.now() - warnedAtMs >= REPEAT_MS) {
      warn(warning);
      warnedAtMs = performance.now();
    }
  }, WATCH_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
