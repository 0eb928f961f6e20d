// How a read that walks many blocks (a log scan, a fee history) spends its request's execution time.
// It runs on the event loop, as an EVM run does, so the time its request shares among its elements
// (RequestScope.time, ethereum.max_execution_time_ms) bounds it too: it looks at the clock before
// every block and every few thousand logs, so that it stops soon after that time ends, whatever a
// block holds, and what it used is taken from the request's allowance once it ends.

import type { TimeAllowance } from './execution-budget.js';

export class ScanDeadline {
  readonly #nowMs: () => number;
  readonly #allowance: TimeAllowance;
  readonly #startMs: number;

  constructor(nowMs: () => number, allowance: TimeAllowance) {
    this.#nowMs = nowMs;
    this.#allowance = allowance;
    this.#startMs = nowMs();
  }

  /** Whether the scan has used up what was left of its request's time when it started. */
  passed(): boolean {
    return this.#nowMs() - this.#startMs > this.#allowance.remainingMs;
  }

  /** Takes the time the scan used from its request's allowance: once, when it ends. */
  settle(): void {
    this.#allowance.remainingMs -= this.#nowMs() - this.#startMs;
  }
}
