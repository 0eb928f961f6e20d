import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { decodeChunk, encodeChunk, formatChunkName, openChunkEntries, parseChunkName } from '../../src/ledger/chunk-file.js';
import { REAL_LEDGERS, realChunks } from '../support/real-ledgers.js';

const names: [string, ReturnType<typeof parseChunkName>][] = [
  ['ledger_1-14.committed', { first: 1, last: 14, committed: true, suffix: undefined }],
  ['ledger_5-15', { first: 5, last: 15, committed: false, suffix: undefined }],
  ['ledger_16', { first: 16, last: undefined, committed: false, suffix: undefined }],
  ['ledger_3-9.committed.recovery', { first: 3, last: 9, committed: true, suffix: 'recovery' }],
  ['ledger_3-9.ignored', { first: 3, last: 9, committed: false, suffix: 'ignored' }],
  ['ledger_3-9.committed.2.ignored', { first: 3, last: 9, committed: true, suffix: 'ignored' }],
  ['ledger_3-9.2.recovery', undefined],
  ['ledger_0-3', undefined],
  ['ledger_9-3.committed', undefined],
  ['ledger_1-14.committed.bak', undefined],
  ['snapshot_14_15.committed', undefined],
  ['ledger_', undefined],
];

for (const [name, expected] of names) {
  test(`chunk name ${JSON.stringify(name)} parses as ${expected ? 'a chunk' : 'no chunk'}`, () => {
    assert.deepEqual(parseChunkName(name), expected);
  });
}

test('chunk names format as CCF writes them', () => {
  assert.equal(formatChunkName(1, 14, true), 'ledger_1-14.committed');
  assert.equal(formatChunkName(15, 20, false), 'ledger_15-20');
  assert.equal(formatChunkName(21, undefined, false), 'ledger_21');
});

test('every real chunk file re-encodes from its entries to identical bytes', () => {
  for (const ledger of REAL_LEDGERS) {
    for (const chunk of realChunks(ledger)) {
      assert.ok(chunk.decoded.complete);
      assert.deepEqual(encodeChunk(chunk.decoded.entries.map((e) => e.raw), true), chunk.bytes, chunk.name);
    }
  }
});

test('a chunk without positions table (still being written) decodes to the end of the file', () => {
  const chunk = realChunks('genesis-14')[0]!;
  const inProgress = encodeChunk(chunk.decoded.entries.map((e) => e.raw), false);
  const decoded = decodeChunk(inProgress, 'ledger_1');
  assert.equal(decoded.complete, false);
  assert.equal(decoded.entries.length, 14);
});

const isChunkError = (code: string, message: RegExp) => (error: unknown) =>
  error instanceof CocoError && error.code === code && message.test(error.message);

test('a positions table that disagrees with the entries is rejected', () => {
  const chunk = realChunks('genesis-14')[0]!;
  const bytes = chunk.bytes.slice();
  const tableOffset = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  new DataView(bytes.buffer).setUint32(tableOffset + 4 * 3, 12345, true);
  assert.throws(() => decodeChunk(bytes, chunk.name), isChunkError('LedgerChunkMalformed', /entry 4 starts at byte 12345/));
});

test('a positions table offset outside the file is rejected', () => {
  const bytes = realChunks('genesis-14')[0]!.bytes.slice();
  new DataView(bytes.buffer).setBigUint64(0, 10n ** 9n, true);
  assert.throws(() => decodeChunk(bytes, 'x'), isChunkError('LedgerChunkMalformed', /outside the file/));
});

test('a truncated chunk is rejected, naming the entry', () => {
  const chunk = realChunks('expired-service')[1]!;
  const truncated = encodeChunk(chunk.decoded.entries.map((e) => e.raw), false).subarray(0, 9000);
  assert.throws(() => decodeChunk(truncated, chunk.name), isChunkError('LedgerEntryMalformed', /ledger_5-15.committed: entry \d+ at byte \d+/));
});

test("an open chunk's entries are counted by their sizes, up to one a crash cut short", () => {
  const raws = realChunks('genesis-14')[0]!.decoded.entries.map((e) => e.raw);
  const open = encodeChunk(raws, false);
  assert.deepEqual(openChunkEntries(open), { count: 14, end: open.length });
  const lastStart = open.length - raws[13]!.length;
  // Cut inside the last entry's body, inside its 8-byte header, and right after its first byte.
  for (const length of [open.length - 1, lastStart + 5, lastStart + 1]) {
    assert.deepEqual(openChunkEntries(open.subarray(0, length)), { count: 13, end: lastStart }, `cut at ${length}`);
  }
  assert.deepEqual(openChunkEntries(open.subarray(0, 8)), { count: 0, end: 8 });
});
