// Asynchronous jobs run one at a time, in the order they were queued: the EVM's API is
// asynchronous, so two Ethereum requests that arrive together would otherwise interleave.

export class OneAtATime {
  /** Settles when the last job queued has ended. */
  #last: Promise<void> = Promise.resolve();

  /** Runs `job` once every job queued before it has ended (fulfilled or rejected). */
  async run<T>(job: () => Promise<T>): Promise<T> {
    const previous = this.#last;
    let done!: () => void;
    this.#last = new Promise((resolve) => (done = resolve));
    await previous;
    try {
      return await job();
    } finally {
      done();
    }
  }
}
