// Raft nodes that each break one rule of the protocol, to show that the simulation's invariant
// checker notices. Each overrides one private method of RaftNode on a subclass's prototype, through a
// cast, so src/consensus needs no test hook; the overrides read private fields by their names there.

import { RaftNode } from '../../src/consensus/raft-node.js';
import type { PreVoteRequest, VoteRequest } from '../../src/consensus/raft-messages.js';
import type { TxStatus } from '../../src/consensus/tx-status.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import type { NodeFactory } from './sim-host.js';

/** The private members of RaftNode that the overrides use. */
interface RaftInternals {
  roleNow: string;
  view: number;
  commit: number;
  persistedSeqno: number;
  votedFor: string | undefined;
  leaderMatchSeqno: number;
  log: { signatureAtOrBefore(seqno: number): number; viewOf(seqno: number): number | undefined; lastSignature(): { seqno: number; view: number } };
  advanceCommit(seqno: number): void;
  inLease(): boolean;
}

function variant(overrides: Record<string, (this: RaftInternals, ...args: never[]) => unknown>): NodeFactory {
  class BrokenNode extends RaftNode {}
  Object.assign(BrokenNode.prototype, overrides);
  return (config) => new BrokenNode(config);
}

function isUpToDate(node: RaftInternals, m: PreVoteRequest | VoteRequest): boolean {
  const mine = node.log.lastSignature();
  return m.lastCommittableView > mine.view || (m.lastCommittableView === mine.view && m.lastCommittableSeqno >= mine.seqno);
}

/** Reports a transaction Committed by its seqno alone, without comparing its view with the local entry's. */
class StatusIgnoresViewNode extends RaftNode {
  override statusOf(txId: TxId): TxStatus {
    return txId.seqno <= this.commitSeqno ? 'Committed' : super.statusOf(txId);
  }
}

export interface BrokenRule {
  summary: string;
  makeNode: NodeFactory;
}

export const BROKEN_RULES: Record<string, BrokenRule> = {
  'minority-commit': {
    summary: 'a primary commits its view\'s signatures once its own disk holds them, without a majority',
    makeNode: variant({
      maybeCommitAsLeader(this: RaftInternals): void {
        if (this.roleNow !== 'Leader') return;
        const signature = this.log.signatureAtOrBefore(this.persistedSeqno);
        if (signature > this.commit && this.log.viewOf(signature) === this.view) this.advanceCommit(signature);
      },
    }),
  },
  'ack-before-durable': {
    summary: 'followers acknowledge entries as durable before their disk holds them',
    makeNode: variant({
      durableForLeader(this: RaftInternals): number {
        return this.leaderMatchSeqno;
      },
    }),
  },
  'vote-ignores-log': {
    summary: 'nodes grant votes without checking that the candidate\'s log is at least as up to date',
    makeNode: variant({
      grantsVote(this: RaftInternals, m: PreVoteRequest | VoteRequest): boolean {
        if (m.type === 'PreVoteRequest') return m.view > this.view && !this.inLease();
        return this.roleNow === 'Follower' && (this.votedFor === undefined || this.votedFor === m.from);
      },
    }),
  },
  'vote-twice': {
    summary: 'nodes grant a vote to every up-to-date candidate of a view, not only the first',
    makeNode: variant({
      grantsVote(this: RaftInternals, m: PreVoteRequest | VoteRequest): boolean {
        if (!isUpToDate(this, m)) return false;
        if (m.type === 'PreVoteRequest') return m.view > this.view && !this.inLease();
        return this.roleNow === 'Follower';
      },
    }),
  },
  'status-ignores-view': {
    summary: 'a node reports every transaction up to its commit seqno Committed, whatever its view',
    makeNode: (config) => new StatusIgnoresViewNode(config),
  },
  'never-votes': {
    summary: 'nodes never grant a vote, so no primary is ever elected',
    makeNode: variant({
      grantsVote(): boolean {
        return false;
      },
    }),
  },
};
