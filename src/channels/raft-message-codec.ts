// The wire format of Raft messages between nodes: a type byte, the sender and recipient IDs, then the
// message's fields; numbers are unsigned LEB128 varints, strings and byte strings are varint-length
// prefixed, entry payloads are copied as raw bytes. Decoding checks every length against the buffer
// and the consensus bounds before it allocates, and returns the object shape for `checkMessage`.

import { CocoError, invariant } from '../errors.js';
import { APPEND_ENTRIES_PER_MESSAGE_MAX, CONFIGURATION_NODES_MAX, ENTRY_BYTES_MAX, NODE_ID_CHARS_MAX } from '../consensus/consensus-limits.js';
import type { LogEntry } from '../consensus/log-entry.js';
import type { RaftMessage } from '../consensus/raft-messages.js';

const TYPE_CODES = {
  PreVoteRequest: 1,
  VoteRequest: 2,
  PreVoteResponse: 3,
  VoteResponse: 4,
  AppendEntries: 5,
  AppendEntriesResponse: 6,
  ProposeRequestVote: 7,
} as const satisfies Record<RaftMessage['type'], number>;

type TypeName = keyof typeof TYPE_CODES;
const TYPE_NAMES = new Map<number, TypeName>(Object.entries(TYPE_CODES).map(([name, code]) => [code, name as TypeName]));

const ENTRY_IS_SIGNATURE = 0x01;
const ENTRY_HAS_CONFIGURATION = 0x02;
/** A UTF-16 code unit takes at most 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes). */
const NODE_ID_BYTES_MAX = NODE_ID_CHARS_MAX * 3;
/** 53 bits (a safe integer) fit in 8 groups of 7. */
const VARINT_BYTES_MAX = 8;

/** A log entry that may carry the node IDs of a new configuration. */
type WireEntry = LogEntry & { configuration?: readonly string[] };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeRaftMessage(m: RaftMessage): Uint8Array {
  // The same walk measures, then writes into a buffer of exactly that size.
  const measure = new Encoder(null);
  writeMessage(measure, m);
  const bytes = Buffer.allocUnsafe(measure.offset);
  const out = new Encoder(bytes);
  writeMessage(out, m);
  invariant(out.offset === bytes.length, 'a Raft message encodes to the size it measured');
  return bytes;
}

/** Decodes one message; throws CocoError 'InvalidConsensusMessage' on any malformed input. */
export function decodeRaftMessage(bytes: Uint8Array): unknown {
  const d: Decoder = new Decoder(bytes); // annotated, so that d.fail() narrows
  const code = d.u8('type');
  const type = TYPE_NAMES.get(code);
  if (type === undefined) d.fail(`unknown message type ${code}`);
  const message = readMessage(d, type);
  if (d.offset !== bytes.length) d.fail(`${bytes.length - d.offset} trailing bytes`);
  return message;
}

// Object literals evaluate left to right, so each reads its fields in wire order.
function readMessage(d: Decoder, type: TypeName): object {
  const from = d.nodeId('from');
  const to = d.nodeId('to');
  const view = d.varint('view');
  switch (type) {
    case 'PreVoteRequest':
      return { type, from, to, view, lastCommittableSeqno: d.varint('lastCommittableSeqno'), lastCommittableView: d.varint('lastCommittableView') };
    case 'VoteRequest':
      return { type, from, to, view, lastCommittableSeqno: d.varint('lastCommittableSeqno'), lastCommittableView: d.varint('lastCommittableView'), nominated: d.flagWhenSet('nominated') };
    case 'PreVoteResponse':
    case 'VoteResponse':
      return { type, from, to, view, granted: d.boolean('granted') };
    case 'AppendEntries':
      return { type, from, to, view, prevSeqno: d.varint('prevSeqno'), prevView: d.varint('prevView'), entries: readEntries(d), leaderCommitSeqno: d.varint('leaderCommitSeqno') };
    case 'AppendEntriesResponse':
      return {
        type,
        from,
        to,
        view,
        success: d.boolean('success'),
        matchSeqno: d.varint('matchSeqno'),
        durableSeqno: d.varint('durableSeqno'),
        rejectedPrevSeqno: d.varint('rejectedPrevSeqno'),
        hintSeqno: d.varint('hintSeqno'),
        hintView: d.varint('hintView'),
      };
    case 'ProposeRequestVote':
      return { type, from, to, view };
  }
}

function writeMessage(e: Encoder, m: RaftMessage): void {
  e.u8(TYPE_CODES[m.type]);
  e.nodeId(m.from);
  e.nodeId(m.to);
  e.varint(m.view);
  switch (m.type) {
    case 'PreVoteRequest':
      e.varint(m.lastCommittableSeqno);
      e.varint(m.lastCommittableView);
      break;
    case 'VoteRequest':
      e.varint(m.lastCommittableSeqno);
      e.varint(m.lastCommittableView);
      // Only a nominated request carries the byte: every other one is as nodes without nominations send and read it.
      if (m.nominated) e.u8(1);
      break;
    case 'PreVoteResponse':
    case 'VoteResponse':
      e.u8(m.granted ? 1 : 0);
      break;
    case 'AppendEntries':
      e.varint(m.prevSeqno);
      e.varint(m.prevView);
      invariant(m.entries.length <= APPEND_ENTRIES_PER_MESSAGE_MAX, `AppendEntries carries at most ${APPEND_ENTRIES_PER_MESSAGE_MAX} entries`);
      e.varint(m.entries.length);
      for (const entry of m.entries) writeEntry(e, entry);
      e.varint(m.leaderCommitSeqno);
      break;
    case 'AppendEntriesResponse':
      e.u8(m.success ? 1 : 0);
      e.varint(m.matchSeqno);
      e.varint(m.durableSeqno);
      e.varint(m.rejectedPrevSeqno);
      e.varint(m.hintSeqno);
      e.varint(m.hintView);
      break;
    case 'ProposeRequestVote':
      break;
  }
}

function writeEntry(e: Encoder, entry: WireEntry): void {
  const configuration = entry.configuration;
  e.varint(entry.seqno);
  e.varint(entry.view);
  e.u8((entry.isSignature ? ENTRY_IS_SIGNATURE : 0) | (configuration !== undefined ? ENTRY_HAS_CONFIGURATION : 0));
  invariant(entry.data.length <= ENTRY_BYTES_MAX, `entry data is at most ${ENTRY_BYTES_MAX} bytes`);
  e.varint(entry.data.length);
  e.raw(entry.data);
  if (configuration === undefined) return;
  invariant(configuration.length <= CONFIGURATION_NODES_MAX, `a configuration has at most ${CONFIGURATION_NODES_MAX} nodes`);
  e.varint(configuration.length);
  for (const id of configuration) e.nodeId(id);
}

function readEntries(d: Decoder): WireEntry[] {
  const count = d.varint('entry count');
  if (count > APPEND_ENTRIES_PER_MESSAGE_MAX) d.fail(`${count} entries exceed the ${APPEND_ENTRIES_PER_MESSAGE_MAX} per message`);
  const entries: WireEntry[] = [];
  for (let i = 0; i < count; i++) {
    const seqno = d.varint('entry seqno');
    const view = d.varint('entry view');
    const flags = d.u8('entry flags');
    if ((flags & ~(ENTRY_IS_SIGNATURE | ENTRY_HAS_CONFIGURATION)) !== 0) d.fail(`unknown entry flags 0x${flags.toString(16)}`);
    const data = d.copy(d.length('entry data', ENTRY_BYTES_MAX));
    const entry: WireEntry = { seqno, view, data, isSignature: (flags & ENTRY_IS_SIGNATURE) !== 0 };
    if ((flags & ENTRY_HAS_CONFIGURATION) !== 0) {
      const nodes = d.varint('configuration size');
      if (nodes > CONFIGURATION_NODES_MAX) d.fail(`a configuration of ${nodes} nodes exceeds ${CONFIGURATION_NODES_MAX}`);
      const configuration: string[] = [];
      for (let n = 0; n < nodes; n++) configuration.push(d.nodeId('configuration node'));
      entry.configuration = configuration;
    }
    entries.push(entry);
  }
  return entries;
}

/** Writes into `bytes`, or only advances `offset` when measuring (`bytes` null). */
class Encoder {
  offset = 0;

  constructor(private readonly bytes: Buffer | null) {}

  u8(value: number): void {
    if (this.bytes !== null) this.bytes[this.offset] = value;
    this.offset += 1;
  }

  varint(value: number): void {
    invariant(Number.isSafeInteger(value) && value >= 0, `a Raft message number is a non-negative safe integer, got ${value}`);
    // Arithmetic, not bit operators: those truncate to 32 bits.
    while (value >= 0x80) {
      this.u8((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.u8(value);
  }

  raw(data: Uint8Array): void {
    if (this.bytes !== null) this.bytes.set(data, this.offset);
    this.offset += data.length;
  }

  nodeId(id: string): void {
    invariant(id.length <= NODE_ID_CHARS_MAX, `a node ID has at most ${NODE_ID_CHARS_MAX} characters`);
    const length = Buffer.byteLength(id, 'utf8');
    this.varint(length);
    if (this.bytes !== null) this.bytes.write(id, this.offset, length, 'utf8');
    this.offset += length;
  }
}

class Decoder {
  offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  fail(reason: string): never {
    throw new CocoError('InvalidConsensusMessage', `consensus message rejected: ${reason} (at byte ${this.offset}); the sender is faulty or not running this protocol version`);
  }

  u8(field: string): number {
    const value = this.bytes[this.offset];
    if (value === undefined) this.fail(`truncated before ${field}`);
    this.offset += 1;
    return value;
  }

  varint(field: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      const byte = this.u8(field);
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        // One encoding per number: a trailing zero group would be a second one.
        if (byte === 0 && i > 0) this.fail(`${field} is not minimally encoded`);
        if (value > Number.MAX_SAFE_INTEGER) this.fail(`${field} exceeds 2^53 - 1`);
        return value;
      }
      scale *= 0x80;
    }
    this.fail(`${field} is longer than ${VARINT_BYTES_MAX} bytes`);
  }

  boolean(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) this.fail(`${field} is ${value}, not 0 or 1`);
    return value === 1;
  }

  /** A flag sent only when set, as a last byte 1 (so that messages without it read as before it existed). */
  flagWhenSet(field: string): boolean {
    if (this.offset === this.bytes.length) return false;
    const value = this.u8(field);
    if (value !== 1) this.fail(`${field} is ${value}: sent only when set, as 1`);
    return true;
  }

  /** A length prefix, checked against `max` and against the bytes left before anything is allocated. */
  length(field: string, max: number): number {
    const length = this.varint(`${field} length`);
    if (length > max) this.fail(`${field} of ${length} bytes exceeds ${max}`);
    if (length > this.bytes.length - this.offset) this.fail(`truncated ${field}: ${length} bytes declared, ${this.bytes.length - this.offset} left`);
    return length;
  }

  /** A copy, so that a kept entry does not pin the whole received frame. */
  copy(length: number): Uint8Array {
    const out = new Uint8Array(length);
    out.set(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }

  nodeId(field: string): string {
    const length = this.length(field, NODE_ID_BYTES_MAX);
    let id: string;
    try {
      id = utf8Decoder.decode(this.bytes.subarray(this.offset, this.offset + length));
    } catch {
      this.fail(`${field} is not UTF-8`);
    }
    if (id.length > NODE_ID_CHARS_MAX) this.fail(`${field} exceeds ${NODE_ID_CHARS_MAX} characters`);
    this.offset += length;
    return id;
  }
}
