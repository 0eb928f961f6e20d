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

export interface ConstitutionRunner {
  validate(tx: Transaction, constitution: string, proposal: string): { valid: boolean; description: string };
  /** `ballotCount`: how many ballots this resolution runs; together they get one script's time limit. */
  vote(tx: Transaction, ballot: string, proposal: string, proposerId: string, ballotCount: number): boolean;
  resolve(tx: Transaction, constitution: string, proposal: string, proposerId: string, votes: Vote[], proposalId: string): unknown;
  apply(tx: Transaction, constitution: string, proposal: string, proposalId: string): void;
  /** Throws, saying why, if `constitution` cannot run: it throws at load or lacks an export. */
  checkConstitution(tx: Transaction, constitution: string): void;
}
