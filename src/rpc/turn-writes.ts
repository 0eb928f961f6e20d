// Responses are written together, once per turn of the event loop, in the order they were
// answered. Written the moment each handler returned, every response let its client send the next
// request at once, so the node met its clients one request per loop turn; held to the end of the
// turn, the clients' next requests arrive together and the node reads and runs them in one pass,
// with one ledger append and one poll for all (+14 % writes/s on one node, measured in
// docs/benchmarks.md). A response waits at most the rest of the current turn.

export class TurnWrites {
  #pending: (() => void)[] = [];

  /** Runs `write` at the end of this turn of the loop, after the writes queued before it. */
  queue(write: () => void): void {
    this.#pending.push(write);
    if (this.#pending.length === 1) setImmediate(() => this.#flush());
  }

  #flush(): void {
    const writes = this.#pending;
    this.#pending = [];
    for (const write of writes) write();
  }
}
