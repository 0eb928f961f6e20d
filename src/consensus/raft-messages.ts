// The messages Raft nodes exchange, and their validation at the boundary: a message from the network
// is checked (shape, integers, sender ID, batch bounds, configurations carried) before the state
// machine sees it; whether the sender belongs to a configuration is the state machine's business.
// Views are CCF views (Raft terms); "committable" means the last signature entry.

import { CocoError } from '../errors.js';
import { configurationProblem, isNodeId } from './configurations.js';
import { APPEND_ENTRIES_PER_MESSAGE_MAX, ENTRY_BYTES_MAX } from './consensus-limits.js';
import type { LogEntry } from './log-entry.js';

interface Envelope {
  from: string;
  to: string;
  view: number;
}

/** Asks whether the sender could win an election at `view` (its view + 1), without changing anyone's view. */
export interface PreVoteRequest extends Envelope {
  type: 'PreVoteRequest';
  lastCommittableSeqno: number;
  lastCommittableView: number;
}

export interface VoteRequest extends Envelope {
  type: 'VoteRequest';
  lastCommittableSeqno: number;
  lastCommittableView: number;
  /** The sender campaigns because its retiring leader nominated it: a voter that still hears from that leader votes anyway. */
  nominated: boolean;
}

/**
 * CCF's ProposeRequestVote: a leader whose retirement committed, having stepped down, nominates its
 * most up-to-date follower, which campaigns at once (without pre-vote) instead of waiting out an
 * election timeout. `view` is the retired leader's.
 */
export interface ProposeRequestVote extends Envelope {
  type: 'ProposeRequestVote';
}

/** Answer to a PreVoteRequest or VoteRequest; `view` is the asked-for view when granted, else the voter's. */
export interface VoteResponse extends Envelope {
  type: 'PreVoteResponse' | 'VoteResponse';
  granted: boolean;
}

export interface AppendEntries extends Envelope {
  type: 'AppendEntries';
  prevSeqno: number;
  prevView: number;
  entries: LogEntry[];
  leaderCommitSeqno: number;
}

/**
 * Success: the follower's log matches the leader's up to `matchSeqno`, durably up to `durableSeqno`.
 * Failure: it does not hold `rejectedPrevSeqno` in the leader's view; its log may agree with the
 * leader's up to `hintSeqno` (whose view is `hintView`), which lets the leader skip a whole view back.
 */
export interface AppendEntriesResponse extends Envelope {
  type: 'AppendEntriesResponse';
  success: boolean;
  matchSeqno: number;
  durableSeqno: number;
  rejectedPrevSeqno: number;
  hintSeqno: number;
  hintView: number;
}

export type RaftMessage = PreVoteRequest | VoteRequest | VoteResponse | AppendEntries | AppendEntriesResponse | ProposeRequestVote;

function reject(what: string): never {
  throw new CocoError('InvalidConsensusMessage', `consensus message rejected: ${what}; the sender is faulty or not running this protocol version`);
}

function checkCount(message: object, field: string): void {
  const value = (message as Record<string, unknown>)[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) reject(`${field} is ${String(value)}, not a non-negative integer`);
}

/** Checks a message received from the network for node `self`. */
export function checkMessage(message: unknown, self: string): RaftMessage {
  if (typeof message !== 'object' || message === null) reject('not an object');
  const m = message as Partial<RaftMessage> & Record<string, unknown>;
  if (!isNodeId(m.from) || m.from === self) reject(`sender ${String(m.from)} is not another node's ID`);
  if (m.to !== self) reject(`addressed to ${String(m.to)}, not to ${self}`);
  checkCount(m, 'view');
  switch (m.type) {
    case 'PreVoteRequest':
    case 'VoteRequest':
      checkCount(m, 'lastCommittableSeqno');
      checkCount(m, 'lastCommittableView');
      if (m.type === 'VoteRequest' && typeof m.nominated !== 'boolean') reject('nominated is not a boolean');
      break;
    case 'ProposeRequestVote':
      break;
    case 'PreVoteResponse':
    case 'VoteResponse':
      if (typeof m.granted !== 'boolean') reject('granted is not a boolean');
      break;
    case 'AppendEntriesResponse':
      if (typeof m.success !== 'boolean') reject('success is not a boolean');
      for (const field of ['matchSeqno', 'durableSeqno', 'rejectedPrevSeqno', 'hintSeqno', 'hintView']) checkCount(m, field);
      if ((m.durableSeqno as number) > (m.matchSeqno as number)) reject(`durableSeqno ${m.durableSeqno} is past matchSeqno ${m.matchSeqno}`);
      break;
    case 'AppendEntries':
      checkAppendEntries(m as AppendEntries);
      break;
    default:
      reject(`unknown type ${String(m.type)}`);
  }
  return m as RaftMessage;
}

function checkAppendEntries(m: AppendEntries): void {
  for (const field of ['prevSeqno', 'prevView', 'leaderCommitSeqno']) checkCount(m, field);
  if (!Array.isArray(m.entries)) reject('entries is not an array');
  if (m.entries.length > APPEND_ENTRIES_PER_MESSAGE_MAX) reject(`${m.entries.length} entries exceed the ${APPEND_ENTRIES_PER_MESSAGE_MAX} per message`);
  if (m.prevView > m.view) reject(`previous entry view ${m.prevView} is after the message view ${m.view}`);
  let previous = { seqno: m.prevSeqno, view: m.prevView };
  for (const entry of m.entries as unknown[]) {
    if (typeof entry !== 'object' || entry === null) reject('an entry is not an object');
    const e = entry as Partial<LogEntry>;
    checkCount(e, 'seqno');
    checkCount(e, 'view');
    if (!(e.data instanceof Uint8Array) || e.data.length > ENTRY_BYTES_MAX) reject(`entry ${String(e.seqno)} data is not bytes of at most ${ENTRY_BYTES_MAX}`);
    if (typeof e.isSignature !== 'boolean') reject(`entry ${String(e.seqno)} isSignature is not a boolean`);
    const problem = e.configuration === undefined ? undefined : configurationProblem(e.configuration);
    if (problem !== undefined) reject(`entry ${String(e.seqno)}: ${problem}`);
    if (e.seqno !== previous.seqno + 1) reject(`entry seqno ${String(e.seqno)} does not follow ${previous.seqno}`);
    if ((e.view as number) < previous.view || (e.view as number) > m.view) reject(`entry view ${String(e.view)} is outside ${previous.view}..${m.view}`);
    previous = { seqno: e.seqno as number, view: e.view as number };
  }
}
