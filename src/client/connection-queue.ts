// Admission of a client's requests to its connections: at most `connectionsMax` requests per node
// hold a connection at once, and the others wait here, first come first served. Waiting here
// rather than in Node's agent keeps a waiting request withdrawable: nothing opens a socket for it.

import { invariant } from '../errors.js';

interface Node {
  busy: number;
  /** Each waiting request's start, in arrival order. */
  waiting: Set<() => void>;
}

export class ConnectionQueue {
  readonly #connectionsMax: number;
  readonly #nodes = new Map<string, Node>();

  constructor(connectionsMax: number) {
    this.#connectionsMax = connectionsMax;
  }

  /**
   * Calls `start` once one of `host`'s connections is free: at once if one is. Returns the
   * withdrawal of a request that no longer wants to start (a no-op once it has started).
   */
  enter(host: string, start: () => void): () => void {
    let node = this.#nodes.get(host);
    if (node === undefined) {
      node = { busy: 0, waiting: new Set() };
      this.#nodes.set(host, node);
    }
    if (node.busy < this.#connectionsMax) {
      node.busy += 1;
      start();
      return () => {};
    }
    const waiting = node.waiting;
    waiting.add(start);
    return () => waiting.delete(start);
  }

  /** Frees one of `host`'s connections, which the next waiting request takes. */
  leave(host: string): void {
    const node = this.#nodes.get(host);
    invariant(node !== undefined && node.busy > 0, `a request left ${host} without holding one of its connections`);
    const next = node.waiting.values().next();
    if (!next.done) {
      node.waiting.delete(next.value);
      next.value();
      return;
    }
    node.busy -= 1;
    if (node.busy === 0) this.#nodes.delete(host);
  }
}
