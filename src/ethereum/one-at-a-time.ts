// Asynchronous jobs run one at a time, in the order they were queued: the EVM's API is
// asynchronous, so two Ethereum requests that arrive together would otherwise interleave.
//
// The EVM's awaits are all on promises that are already settled, so a queue of jobs runs to its end
// in one turn of the event loop: 32 queued ERC-20 transfers held a primary's loop ~30 ms, and with
// it the answers already computed, the backups' acknowledgements and the signature timer (loop
// delay p99 30-66 ms under load). With `turns`, the queue gives the loop a turn once its jobs have
// run for a slice, as the RPC layer's requests do. A job that finds the queue empty is no exception:
// the elements of a JSON-RPC batch arrive one after the other, each to an empty queue, with no turn
// of the loop between them.

/** When the jobs give the event loop a turn, and how. */
export interface JobTurns {
  /** How long jobs may run one after the other before the loop gets a turn. */
  sliceMs: number;
  nowMs: () => number;
  /** Settles on a later turn of the loop, after its I/O and timers. */
  nextTurn: () => Promise<void>;
}

export class OneAtATime {
  /** Settles when the last job queued has ended. */
  #last: Promise<void> = Promise.resolve();
  #sliceStartMs = 0;
  readonly #turns: JobTurns | undefined;

  constructor(turns?: JobTurns) {
    this.#turns = turns;
  }

  /** Runs `job` once every job queued before it has ended (fulfilled or rejected). */
  async run<T>(job: () => Promise<T>): Promise<T> {
    const previous = this.#last;
    let done!: () => void;
    this.#last = new Promise((resolve) => (done = resolve));
    try {
      await previous;
      if (this.#turns !== undefined) await this.#turn(this.#turns);
      return await job();
    } finally {
      done();
    }
  }

  /**
   * Within the slice a job starts at once; past it, it waits for a turn and starts a new slice. After
   * an idle spell that costs one needless turn (microseconds): the queue cannot tell whether the loop
   * had a turn since the last job ended.
   */
  async #turn(turns: JobTurns): Promise<void> {
    if (turns.nowMs() - this.#sliceStartMs < turns.sliceMs) return;
    await turns.nextTurn();
    this.#sliceStartMs = turns.nowMs();
  }
}
