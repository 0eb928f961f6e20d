// Requests take turns on the event loop. Node reads every client request that arrived together in
// one pass and would run each to its end before the loop looked at anything else: under load, a
// backup's acknowledgement or a signature's timer then waited behind the whole pass (32 busy clients
// hold it ~60 ms), and commit with them. Here requests start in arrival order, in slices of a few
// ms, and the loop reads its sockets and runs its timers between two slices. A slice rather than a
// turn per request: the work the node batches per turn of the loop (ledger writes, log lines) stays
// batched.

/** How long requests may start one after the other before the loop gets a turn. */
export const REQUEST_SLICE_MS = 4;

export class RequestTurns {
  readonly #sliceMs: number;
  readonly #waiting: (() => void)[] = [];
  #scheduled = false;

  constructor(sliceMs = REQUEST_SLICE_MS) {
    this.#sliceMs = sliceMs;
  }

  /** Resolves when it is the caller's turn to run. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // An immediate set while immediates run waits for the next turn of the loop, after its I/O.
    setImmediate(() => this.#release());
  }

  #release(): void {
    this.#scheduled = false;
    const sliceStartMs = performance.now();
    const step = (): void => {
      // Runs once the request released last has started: a JS handler has run (synchronously), an
      // EVM run its first steps (the rest interleave with the next requests'); the clock sees both.
      if (performance.now() - sliceStartMs >= this.#sliceMs) return this.#schedule();
      this.#waiting.shift()?.();
      if (this.#waiting.length > 0) queueMicrotask(step);
    };
    step();
  }
}
