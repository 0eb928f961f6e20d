// Finding committed ledger chunk files to serve, by a seqno they hold or by name.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { committedChunkHolding, committedChunkNamed, committedChunksBefore, isCommittedChunkName, listChunkFiles, listReplayChunkFiles, readCommittedEntriesFrom } from '../../src/node/ledger-directory.js';
import { decodeChunk, parseChunkName } from '../../src/ledger/chunk-file.js';
import { generateLedger } from '../support/generated-ledger.js';

test('committedChunkHolding finds the committed chunk holding a seqno, never an open, uncommitted or set-aside one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-ledger-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await committedChunkHolding([dir], 1), undefined, 'an empty directory');
  for (const name of ['ledger_1-10.committed', 'ledger_11-20.committed', 'ledger_21-30', 'ledger_31', 'ledger_5-8.committed.ignored', 'notes.txt']) writeFileSync(join(dir, name), name);
  assert.equal((await committedChunkHolding([dir], 1))?.name, 'ledger_1-10.committed');
  assert.equal((await committedChunkHolding([dir], 10))?.name, 'ledger_1-10.committed');
  assert.equal((await committedChunkHolding([dir], 11))?.name, 'ledger_11-20.committed');
  for (const seqno of [0, 21, 31, 40]) assert.equal(await committedChunkHolding([dir], seqno), undefined, `seqno ${seqno}`);
});

test('committed chunks are looked up in the ledger directory first, then in each read-only directory', async (t) => {
  const [own, older, oldest] = ['own', 'older', 'oldest'].map((name) => mkdtempSync(join(tmpdir(), `coco-ledger-${name}-`)));
  t.after(() => [own, older, oldest].forEach((dir) => rmSync(dir!, { recursive: true, force: true })));
  writeFileSync(join(own!, 'ledger_21-30.committed'), 'own');
  writeFileSync(join(own!, 'ledger_31'), 'own, open');
  writeFileSync(join(older!, 'ledger_11-20.committed'), 'older');
  writeFileSync(join(older!, 'ledger_21-30.committed'), 'a copy in a read-only directory');
  writeFileSync(join(oldest!, 'ledger_1-10.committed'), 'oldest');
  writeFileSync(join(oldest!, 'ledger_31-40'), 'never read from a read-only directory: not committed');
  const directories = [own!, older!, oldest!];

  assert.equal((await committedChunkHolding(directories, 5))?.path, join(oldest!, 'ledger_1-10.committed'));
  assert.equal((await committedChunkHolding(directories, 15))?.path, join(older!, 'ledger_11-20.committed'));
  assert.equal((await committedChunkHolding(directories, 25))?.path, join(own!, 'ledger_21-30.committed'), 'the ledger directory wins');
  assert.equal(await committedChunkHolding(directories, 35), undefined);
  assert.equal(await committedChunkNamed(directories, 'ledger_1-10.committed'), join(oldest!, 'ledger_1-10.committed'));
  assert.equal(await committedChunkNamed(directories, 'ledger_21-30.committed'), join(own!, 'ledger_21-30.committed'));
  for (const name of ['ledger_31-40', 'ledger_41-50.committed', '../oldest/ledger_1-10.committed']) assert.equal(await committedChunkNamed(directories, name), undefined, name);
  assert.deepEqual(
    committedChunksBefore(directories, 21).map((chunk) => [chunk.first, chunk.last]),
    [[11, 20], [1, 10]],
  );
  await assert.rejects(committedChunkHolding([own!, join(tmpdir(), 'coco-no-such-read-only-dir')], 1), /cannot read ledger directory .*coco-no-such-read-only-dir/);
});

test('isCommittedChunkName accepts only a committed chunk file name', () => {
  assert.equal(isCommittedChunkName('ledger_1-10.committed'), true);
  for (const name of ['ledger_1-10', 'ledger_11', 'ledger_1-10.committed.ignored', '../ledger_1-10.committed', 'ledger_1-10.committed/x', 'snapshot_1_2.committed']) {
    assert.equal(isCommittedChunkName(name), false, name);
  }
});

test('committedChunkHolding says which directory it cannot read', async () => {
  await assert.rejects(committedChunkHolding([join(tmpdir(), 'coco-no-such-ledger-dir')], 1), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'LedgerDirectoryUnreadable');
    assert.match(error.message, /coco-no-such-ledger-dir/);
    return true;
  });
});

test('readCommittedEntriesFrom reads only the entries asked for, each in bytes of its own, and refuses a damaged positions table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-ledger-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const generated = generateLedger({ transactions: 60, signatureInterval: 10, chunkBytesTarget: 6000, privateValueBytes: 32 });
  const committed = generated.chunks.filter((c) => parseChunkName(c.name)?.committed === true);
  for (const chunk of committed) writeFileSync(join(dir, chunk.name), chunk.bytes);
  const chunk = committed[1]!;
  const { first, last } = parseChunkName(chunk.name)!;
  const { offsets } = decodeChunk(chunk.bytes, chunk.name);
  const entryBytes = (seqno: number) => chunk.bytes.slice(offsets[seqno - first]!, offsets[seqno - first + 1] ?? chunk.bytes.length - offsets.length * 4);

  const three = (await readCommittedEntriesFrom([dir], first + 1, 3))!;
  assert.deepEqual(three.map((e) => e.seqno), [first + 1, first + 2, first + 3]);
  for (const entry of three) {
    assert.deepEqual(entry.bytes, entryBytes(entry.seqno));
    assert.equal(entry.bytes.buffer.byteLength, entry.bytes.byteLength, 'a cache that keeps an entry keeps nothing else of the chunk');
    assert.equal(entry.file, chunk.name);
  }
  const toEnd = (await readCommittedEntriesFrom([dir], last! - 1, 100))!;
  assert.deepEqual(toEnd.map((e) => e.seqno), [last! - 1, last!], 'never past the chunk');
  assert.deepEqual(toEnd[1]!.bytes, entryBytes(last!));
  assert.equal(await readCommittedEntriesFrom([dir], generated.writer.lastTxId.seqno + 10, 1), undefined);

  const damaged = chunk.bytes.slice();
  new DataView(damaged.buffer).setUint32(damaged.length - offsets.length * 4 + 4, damaged.length, true);
  writeFileSync(join(dir, chunk.name), damaged);
  await assert.rejects(readCommittedEntriesFrom([dir], first, 3), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'LedgerEntryMalformed');
    assert.match(error.message, new RegExp(chunk.name.replace('.', '\\.')));
    return true;
  });
});

test('listChunkFiles skips the chunk files set aside, .ignored and .recovery as CCF does, and names them to whoever asks', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-ledger-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['ledger_1-10.committed', 'ledger_11', 'ledger_11-20.recovery', 'ledger_5-8.committed.ignored', 'ledger_5-8.committed.1.ignored', 'ledger_0-3.recovery', 'notes.txt']) writeFileSync(join(dir, name), name);
  const setAside: string[] = [];
  const files = listChunkFiles(dir, { onSetAside: (file) => setAside.push(file.name) });
  assert.deepEqual(files.map((file) => file.name), ['ledger_1-10.committed', 'ledger_11']);
  assert.deepEqual(setAside.sort(), ['ledger_11-20.recovery', 'ledger_5-8.committed.1.ignored', 'ledger_5-8.committed.ignored']);
});

test('a replay takes from the read-only directories only committed chunks that fill what the ledger directory lacks before its last chunk', (t) => {
  const [own, older, oldest] = ['own', 'older', 'oldest'].map((name) => mkdtempSync(join(tmpdir(), `coco-replay-${name}-`)));
  t.after(() => [own, older, oldest].forEach((dir) => rmSync(dir!, { recursive: true, force: true })));
  for (const name of ['ledger_11-20.committed', 'ledger_41-50.committed', 'ledger_51']) writeFileSync(join(own!, name), 'own');
  for (const name of [
    'ledger_1-10.committed', // before the first own chunk: taken
    'ledger_11-20.committed', // a copy of an own chunk: the own one is read
    'ledger_21-30.committed', // in the gap: taken
    'ledger_31-40', // in the gap but not committed: never read from a read-only directory
    'ledger_51-60.committed', // at or after the last own chunk, where the node appends: left out
  ]) {
    writeFileSync(join(older!, name), 'older');
  }
  for (const name of ['ledger_25-32.committed', 'ledger_31-40.committed', 'ledger_35-36.committed']) writeFileSync(join(oldest!, name), 'oldest');
  const replayed = (after?: number) => listReplayChunkFiles(own!, [older!, oldest!], { after }).map((file) => `${file.path}${file.readOnly ? ' (read-only)' : ''}`);
  assert.deepEqual(replayed(), [
    `${join(older!, 'ledger_1-10.committed')} (read-only)`,
    join(own!, 'ledger_11-20.committed'),
    `${join(older!, 'ledger_21-30.committed')} (read-only)`,
    `${join(oldest!, 'ledger_31-40.committed')} (read-only)`, // not ledger_25-32, which overlaps a chunk taken before, nor ledger_35-36 inside it
    join(own!, 'ledger_41-50.committed'),
    join(own!, 'ledger_51'),
  ]);
  assert.deepEqual(replayed(20), [
    join(own!, 'ledger_11-20.committed'),
    `${join(older!, 'ledger_21-30.committed')} (read-only)`,
    `${join(oldest!, 'ledger_31-40.committed')} (read-only)`,
    join(own!, 'ledger_41-50.committed'),
    join(own!, 'ledger_51'),
  ], 'nothing at or before the snapshot a replay starts from');
  const empty = mkdtempSync(join(tmpdir(), 'coco-replay-empty-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  assert.deepEqual(listReplayChunkFiles(empty, [older!], { allowEmpty: true }), [], 'no chunk of its own: nothing to append after, nothing taken');
  assert.throws(() => listReplayChunkFiles(empty, [older!]), /no ledger chunk files .* in .*coco-replay-empty-/);
});
