// How busy this process's event loop has been: Node's event-loop utilization (the share of time
// spent running callbacks rather than waiting for I/O) over the window since the previous look.

import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** A function that returns the event loop's busy share (0 to 1) since its previous call. */
export function eventLoopBusyShareSince(): () => number {
  let previous: EventLoopUtilization = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, previous);
    previous = now;
    return utilization;
  };
}
