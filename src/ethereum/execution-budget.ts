// A time limit on EVM runs. A node executes on its event loop: a contract that loops until its gas
// runs out (or an eth_estimateGas without a cap) could hold the loop for seconds, long enough for
// the other nodes to elect a new primary. EthereumJS has no interrupt, but its interpreter asks the
// chain rules (Common.isActivatedEIP) about EIPs on every step: counting those questions gives a
// cheap place to look at the clock and stop a run that has used up its time. Only the primary
// executes (backups apply write sets), so a limit measured in time keeps the replicas identical.

import type { Common } from '@ethereumjs/common';
import { CocoError } from '../errors.js';

/** What is left of a limit shared by several runs. */
export interface TimeAllowance {
  remainingMs: number;
}

/** The error of a run stopped where the time its request shares among its elements (and their runs) ended. */
export function requestTimeUsedUp(limitMs: number): CocoError {
  return new CocoError(
    'ExecutionTimeLimit',
    `execution timeout: this request's elements used up its ${limitMs} ms (ethereum.max_execution_time_ms); nothing was written. Send fewer requests per batch`,
  );
}

/** Steps between two looks at the clock: a few hundred microseconds of EVM work. */
const STEPS_PER_CHECK = 2048;

export class ExecutionBudget {
  readonly #nowMs: () => number;
  readonly #limitMs: number;
  #deadlineMs = Infinity;
  /** The run in progress ends where what is left of its allowance ends, before its own limit. */
  #allowanceBinds = false;
  #calls = 0;
  /** Time the run in progress spent outside the limit (see `outside`). */
  #outsideMs = 0;

  /** Watches the runs of the VM whose chain rules are `common`; `limitMs` per run. */
  constructor(common: Common, nowMs: () => number, limitMs: number) {
    if (!Number.isInteger(limitMs) || limitMs <= 0) throw new CocoError('InvalidArgument', `the EVM execution time limit must be a positive integer of ms, got ${limitMs}`);
    this.#nowMs = nowMs;
    this.#limitMs = limitMs;
    const isActivatedEIP = common.isActivatedEIP.bind(common);
    common.isActivatedEIP = (eip: number): boolean => {
      if (++this.#calls >= STEPS_PER_CHECK) {
        this.#calls = 0;
        if (this.#nowMs() > this.#deadlineMs) this.#exceeded();
      }
      return isActivatedEIP(eip);
    };
  }

  /** One limit for several runs (eth_estimateGas runs a call many times without giving the event loop a turn). */
  allowance(): TimeAllowance {
    return { remainingMs: this.#limitMs };
  }

  /** Runs `work` (one run of the VM) within the limit, or what is left of `allowance`; throws ExecutionTimeLimit past it. */
  async within<T>(work: () => Promise<T>, allowance?: TimeAllowance): Promise<T> {
    const allowanceMs = allowance?.remainingMs ?? Infinity;
    // The request's message only when other work took much of its time: one transaction whose own
    // decoding took a few ms of it is stopped for its own run, and is told to use less gas.
    this.#allowanceBinds = allowanceMs < this.#limitMs / 2;
    // The clock is looked at every few thousand steps only: a spent allowance stops the run before it starts.
    if (allowanceMs <= 0) this.#exceeded();
    const startMs = this.#nowMs();
    this.#deadlineMs = startMs + Math.min(this.#limitMs, allowanceMs);
    this.#calls = 0;
    this.#outsideMs = 0;
    try {
      return await work();
    } finally {
      this.#deadlineMs = Infinity;
      if (allowance !== undefined) allowance.remainingMs -= this.#nowMs() - startMs - this.#outsideMs;
    }
  }

  /** Runs `work` within the run in progress without counting its time (loading a library on first use): the deadline moves by what it took. */
  async outside<T>(work: () => Promise<T>): Promise<T> {
    const startMs = this.#nowMs();
    try {
      return await work();
    } finally {
      const spentMs = this.#nowMs() - startMs;
      this.#deadlineMs += spentMs;
      this.#outsideMs += spentMs;
    }
  }

  /** Throws ExecutionTimeLimit when `estimateMs` more of the run in progress would pass its limit (see precompile-time.ts). */
  ensure(estimateMs: number): void {
    if (this.#nowMs() + estimateMs > this.#deadlineMs) this.#exceeded();
  }

  #exceeded(): never {
    if (this.#allowanceBinds) throw requestTimeUsedUp(this.#limitMs);
    throw new CocoError(
      'ExecutionTimeLimit',
      `execution timeout: the EVM ran for more than ${this.#limitMs} ms (ethereum.max_execution_time_ms); nothing was written. Lower the gas limit, or ask the operators to raise the limit`,
    );
  }
}
