import assert from 'node:assert/strict';
import test from 'node:test';
import { decodeRaftMessage, encodeRaftMessage } from '../../src/channels/raft-message-codec.js';
import { APPEND_ENTRIES_PER_MESSAGE_MAX, CONFIGURATION_NODES_MAX, ENTRY_BYTES_MAX, NODE_ID_CHARS_MAX } from '../../src/consensus/consensus-limits.js';
import type { LogEntry } from '../../src/consensus/log-entry.js';
import type { RaftMessage } from '../../src/consensus/raft-messages.js';
import { CocoError } from '../../src/errors.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

/** `configuration` is read generically by the codec (see its header). */
type WireEntry = LogEntry & { configuration?: readonly string[] };

const entries: WireEntry[] = [
  { seqno: 2 ** 40 + 1, view: 2, data: Uint8Array.of(1, 2, 3), isSignature: false },
  { seqno: 2 ** 40 + 2, view: 3, data: new Uint8Array(0), isSignature: true },
  { seqno: 2 ** 40 + 3, view: 3, data: new Uint8Array(300).fill(7), isSignature: false, configuration: [A, B, C] },
  { seqno: 2 ** 40 + 4, view: 3, data: Uint8Array.of(9), isSignature: true, configuration: [] },
];

const appendEntries: RaftMessage = {
  type: 'AppendEntries',
  from: A,
  to: B,
  view: 3,
  prevSeqno: 2 ** 40,
  prevView: 2,
  entries,
  leaderCommitSeqno: Number.MAX_SAFE_INTEGER,
};

const messages: RaftMessage[] = [
  { type: 'PreVoteRequest', from: A, to: B, view: 0, lastCommittableSeqno: 0, lastCommittableView: 0 },
  { type: 'VoteRequest', from: B, to: A, view: 127, lastCommittableSeqno: 128, lastCommittableView: 16_384, nominated: false },
  { type: 'PreVoteResponse', from: A, to: C, view: 5, granted: true },
  { type: 'VoteResponse', from: C, to: A, view: 5, granted: false },
  appendEntries,
  { type: 'AppendEntries', from: A, to: B, view: 1, prevSeqno: 0, prevView: 0, entries: [], leaderCommitSeqno: 0 },
  { type: 'AppendEntriesResponse', from: B, to: A, view: 3, success: true, matchSeqno: 10, durableSeqno: 9, rejectedPrevSeqno: 0, hintSeqno: 0, hintView: 0 },
  { type: 'AppendEntriesResponse', from: B, to: A, view: 3, success: false, matchSeqno: 0, durableSeqno: 9, rejectedPrevSeqno: 12, hintSeqno: 8, hintView: 2 },
  { type: 'VoteResponse', from: 'ノード', to: '', view: 1, granted: true },
  { type: 'VoteRequest', from: B, to: C, view: 8, lastCommittableSeqno: 7, lastCommittableView: 6, nominated: true },
  { type: 'ProposeRequestVote', from: A, to: B, view: 2 ** 40 },
];

function isInvalidMessage(error: unknown): boolean {
  return error instanceof CocoError && error.code === 'InvalidConsensusMessage';
}

for (const message of messages) {
  test(`${message.type} from ${message.from.slice(0, 3)} round-trips`, () => {
    const decoded = decodeRaftMessage(encodeRaftMessage(message));
    assert.deepEqual(decoded, message);
  });
}

test('decoded entries carry `configuration` only when it was sent, as plain copies of the payload', () => {
  const encoded = encodeRaftMessage(appendEntries);
  const decoded = decodeRaftMessage(encoded) as { entries: Array<Record<string, unknown>> };
  assert.deepEqual(decoded.entries.map((e) => 'configuration' in e), [false, false, true, true]);
  const data = decoded.entries[0]!.data as Uint8Array;
  assert.equal(Object.getPrototypeOf(data), Uint8Array.prototype);
  encoded.fill(0);
  assert.deepEqual(data, Uint8Array.of(1, 2, 3), 'the payload does not alias the received bytes');
});

test('an entry whose configuration is undefined encodes like one without it', () => {
  const plain = { type: 'AppendEntries', from: A, to: B, view: 1, prevSeqno: 0, prevView: 0, leaderCommitSeqno: 0 } as const;
  const entry = { seqno: 1, view: 1, data: Uint8Array.of(1), isSignature: false };
  const withUndefined: WireEntry = { ...entry, configuration: undefined };
  assert.deepEqual(
    encodeRaftMessage({ ...plain, entries: [withUndefined] }),
    encodeRaftMessage({ ...plain, entries: [entry] }),
  );
});

test('small messages stay small: a vote response takes a few bytes beyond its two IDs', () => {
  assert.equal(encodeRaftMessage(messages[3]!).length, 1 + 2 * (1 + 64) + 1 + 1);
});

test('wire format of a nomination and of a nominated vote request: type 7 carries only the view; only a nominated vote request ends with a byte 1, so other vote requests are as before nominations', () => {
  const id = (c: string) => [1, c.charCodeAt(0)];
  assert.deepEqual([...encodeRaftMessage({ type: 'ProposeRequestVote', from: 'a', to: 'b', view: 300 })], [7, ...id('a'), ...id('b'), 0xac, 0x02]);
  const vote = { type: 'VoteRequest', from: 'b', to: 'c', view: 5, lastCommittableSeqno: 4, lastCommittableView: 3 } as const;
  assert.deepEqual([...encodeRaftMessage({ ...vote, nominated: true })], [2, ...id('b'), ...id('c'), 5, 4, 3, 1]);
  assert.deepEqual([...encodeRaftMessage({ ...vote, nominated: false })], [2, ...id('b'), ...id('c'), 5, 4, 3]);
  assert.deepEqual(decodeRaftMessage(Uint8Array.of(2, ...id('b'), ...id('c'), 5, 4, 3)), { ...vote, nominated: false });
  for (const flag of [0, 2]) assert.throws(() => decodeRaftMessage(Uint8Array.of(2, ...id('b'), ...id('c'), 5, 4, 3, flag)), isInvalidMessage, 'the byte, when there, is 1');
  assert.throws(() => decodeRaftMessage(Uint8Array.of(7, ...id('a'), ...id('b'), 5, 0)), isInvalidMessage, 'a nomination carries nothing after its view');
});

test('a message truncated at any byte is rejected', () => {
  for (const message of messages) {
    const encoded = encodeRaftMessage(message);
    // A nominated vote request without its last byte is a whole vote request, not nominated.
    const whole = message.type === 'VoteRequest' && message.nominated ? encoded.length - 1 : encoded.length;
    for (let length = 0; length < whole; length++) {
      assert.throws(() => decodeRaftMessage(encoded.subarray(0, length)), isInvalidMessage, `${message.type} cut at ${length}`);
    }
  }
});

test('trailing bytes are rejected', () => {
  for (const message of messages) {
    const encoded = encodeRaftMessage(message);
    assert.throws(() => decodeRaftMessage(Uint8Array.of(...encoded, 0)), isInvalidMessage);
  }
});

/** Builds wire bytes by hand: numbers become varints, arrays raw bytes, strings length-prefixed UTF-8. */
function wire(...parts: Array<number | number[] | string>): Uint8Array {
  const out: number[] = [];
  const varint = (value: number) => {
    while (value >= 0x80) {
      out.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    out.push(value);
  };
  for (const part of parts) {
    if (typeof part === 'number') varint(part);
    else if (typeof part === 'string') {
      const bytes = Buffer.from(part, 'utf8');
      varint(bytes.length);
      out.push(...bytes);
    } else out.push(...part);
  }
  return Uint8Array.from(out);
}

const AE = 5; // AppendEntries
const VOTE_RESPONSE = 4;

for (const [name, bytes] of [
  ['an empty buffer', new Uint8Array(0)],
  ['an unknown type', wire(0, A, B, 1)],
  ['an unknown type above the known ones', wire(7, A, B, 1, 1)],
  ['a boolean that is neither 0 nor 1', wire(VOTE_RESPONSE, A, B, 1, [2])],
  ['a varint longer than 8 bytes', wire(VOTE_RESPONSE, A, B, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [1])],
  ['a varint above 2^53 - 1', wire(VOTE_RESPONSE, A, B, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10], [1])],
  ['a varint with a redundant zero group', wire(VOTE_RESPONSE, A, B, [0x81, 0x00], [1])],
  ['a node ID that is not UTF-8', wire(VOTE_RESPONSE, 2, [0xc3, 0x28], B, 1, [1])],
  ['a node ID longer than the limit', wire(VOTE_RESPONSE, 'x'.repeat(NODE_ID_CHARS_MAX + 1), B, 1, [1])],
  ['a node ID declaring a huge length', wire(VOTE_RESPONSE, 2 ** 50, [0x61])],
  ['more entries than one message may carry', wire(AE, A, B, 1, 0, 0, APPEND_ENTRIES_PER_MESSAGE_MAX + 1)],
  ['a huge entry count', wire(AE, A, B, 1, 0, 0, 2 ** 52)],
  ['entry data above the entry limit', wire(AE, A, B, 1, 0, 0, 1, 1, 1, [0], ENTRY_BYTES_MAX + 1)],
  ['entry data longer than the buffer', wire(AE, A, B, 1, 0, 0, 1, 1, 1, [0], 1000, [1, 2, 3])],
  ['entry data declaring 2^53 - 1 bytes', wire(AE, A, B, 1, 0, 0, 1, 1, 1, [0], Number.MAX_SAFE_INTEGER)],
  ['unknown entry flags', wire(AE, A, B, 1, 0, 0, 1, 1, 1, [4], 0, 0)],
  ['a configuration above the node limit', wire(AE, A, B, 1, 0, 0, 1, 1, 1, [2], 0, CONFIGURATION_NODES_MAX + 1)],
  ['a configuration declaring 2^40 nodes', wire(AE, A, B, 1, 0, 0, 1, 1, 1, [2], 0, 2 ** 40)],
] as const) {
  test(`${name} is rejected`, () => {
    assert.throws(() => decodeRaftMessage(bytes), isInvalidMessage);
  });
}

test('the hand-built wire bytes match the encoder, so the rejections above test real layouts', () => {
  const entry: WireEntry = { seqno: 1, view: 1, data: new Uint8Array(0), isSignature: false, configuration: [A] };
  const message: RaftMessage = { type: 'AppendEntries', from: A, to: B, view: 1, prevSeqno: 0, prevView: 0, entries: [entry], leaderCommitSeqno: 0 };
  assert.deepEqual(new Uint8Array(encodeRaftMessage(message)), wire(AE, A, B, 1, 0, 0, 1, 1, 1, [2], 0, 1, A, 0));
  assert.deepEqual(new Uint8Array(encodeRaftMessage(messages[3]!)), wire(VOTE_RESPONSE, C, A, 5, [0]));
});

test('random bytes never crash the decoder: they decode or throw InvalidConsensusMessage', () => {
  let state = 0x2545f491;
  const nextByte = () => {
    // xorshift32: a fixed sequence, so a failure replays.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state & 0xff;
  };
  const valid = encodeRaftMessage(appendEntries);
  for (let round = 0; round < 2000; round++) {
    const bytes = round % 2 === 0 ? Uint8Array.from({ length: nextByte() }, nextByte) : Uint8Array.from(valid);
    if (round % 2 === 1) for (let flips = 0; flips < 3; flips++) bytes[(nextByte() * 256 + nextByte()) % bytes.length] = nextByte();
    try {
      decodeRaftMessage(bytes);
    } catch (error) {
      assert.ok(isInvalidMessage(error), `round ${round}: ${String(error)}`);
    }
  }
});

test('encoding a message that breaks the consensus bounds is a bug, not a wire format', () => {
  const tooMany = { ...appendEntries, entries: Array.from({ length: APPEND_ENTRIES_PER_MESSAGE_MAX + 1 }, (_, i) => ({ seqno: i + 1, view: 1, data: new Uint8Array(0), isSignature: false })) };
  for (const message of [{ ...messages[0]!, view: -1 }, { ...messages[0]!, view: 1.5 }, tooMany] as RaftMessage[]) {
    assert.throws(() => encodeRaftMessage(message), (e: unknown) => e instanceof CocoError && e.code === 'InternalError');
  }
});
