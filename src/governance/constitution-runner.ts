// What governance needs from the JavaScript runtime: the constitution's `validate`, `resolve` and
// `apply`, and members' ballots (`vote`), each run inside the governance transaction with CCF's
// access rules (read-only except in `apply`). A failure carries the script's message and trace.

import type { Transaction } from '../kv/transaction.js';

export interface ScriptFailure {
  reason: string;
  trace?: string;
}

export class ScriptError extends Error {
  constructor(readonly failure: ScriptFailure) {
    super(failure.reason);
  }
}

export interface Vote {
  member_id: string;
  vote: boolean;
}

/** Where a ballot runs. */
export interface BallotContext {
  /** How errors name the ballot: where CCF stores it, `public:ccf.gov.proposals_info[<proposal>].ballots[<member>]`. */
  name: string;
  /**
   * How many members may vote on the proposal (its Active members, and any others whose ballots it
   * holds): the most ballots one resolution can run. Together they get one script's time limit.
   */
  voterCount: number;
}

export interface ConstitutionRunner {
  validate(tx: Transaction, constitution: string, proposal: string): { valid: boolean; description: string };
  /**
   * Runs a member's ballot: true if its `vote` returned true. A ballot whose call fails throws a
   * ScriptError (a vote failure); one that does not load (it does not compile, throws at its top
   * level, or exports no function `vote`) throws a CocoError, which fails the request, as in CCF.
   */
  vote(tx: Transaction, ballot: string, proposal: string, proposerId: string, context: BallotContext): boolean;
  /** The state `resolve` returned, converted to a string as CCF reads it (JS_ToCString). */
  resolve(tx: Transaction, constitution: string, proposal: string, proposerId: string, votes: Vote[], proposalId: string): string;
  apply(tx: Transaction, constitution: string, proposal: string, proposalId: string): void;
  /** Throws, saying why, if `constitution` cannot run: it throws at load or lacks an export. */
  checkConstitution(tx: Transaction, constitution: string): void;
}
