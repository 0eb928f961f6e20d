// One-line descriptions of Raft messages for the simulation's event trace, e.g.
// "n0→n2 AppendEntries v3 prev 3.10 [11..14] commit 8".

import type { RaftMessage } from '../../src/consensus/raft-messages.js';

export function describeMessage(m: RaftMessage): string {
  const head = `${m.from}→${m.to} ${m.type} v${m.view}`;
  switch (m.type) {
    case 'PreVoteRequest':
      return `${head} last signature ${m.lastCommittableView}.${m.lastCommittableSeqno}`;
    case 'VoteRequest':
      return `${head} last signature ${m.lastCommittableView}.${m.lastCommittableSeqno}${m.nominated ? ' (nominated)' : ''}`;
    case 'ProposeRequestVote':
      return `${head} (nominates ${m.to})`;
    case 'PreVoteResponse':
    case 'VoteResponse':
      return `${head} ${m.granted ? 'granted' : 'refused'}`;
    case 'AppendEntries': {
      const entries = m.entries.length === 0 ? 'no entries' : `[${m.prevSeqno + 1}..${m.prevSeqno + m.entries.length}]`;
      return `${head} prev ${m.prevView}.${m.prevSeqno} ${entries} commit ${m.leaderCommitSeqno}`;
    }
    case 'AppendEntriesResponse':
      return m.success ? `${head} match ${m.matchSeqno} durable ${m.durableSeqno}` : `${head} rejects prev ${m.rejectedPrevSeqno}, hint ${m.hintView}.${m.hintSeqno}`;
  }
}
