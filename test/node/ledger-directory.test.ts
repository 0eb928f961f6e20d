// Finding committed ledger chunk files to serve, by a seqno they hold or by name.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { committedChunkHolding, isCommittedChunkName } from '../../src/node/ledger-directory.js';

test('committedChunkHolding finds the committed chunk holding a seqno, never an open, uncommitted or set-aside one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-ledger-dir-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await committedChunkHolding(dir, 1), undefined, 'an empty directory');
  for (const name of ['ledger_1-10.committed', 'ledger_11-20.committed', 'ledger_21-30', 'ledger_31', 'ledger_5-8.committed.ignored', 'notes.txt']) writeFileSync(join(dir, name), name);
  assert.equal((await committedChunkHolding(dir, 1))?.name, 'ledger_1-10.committed');
  assert.equal((await committedChunkHolding(dir, 10))?.name, 'ledger_1-10.committed');
  assert.equal((await committedChunkHolding(dir, 11))?.name, 'ledger_11-20.committed');
  for (const seqno of [0, 21, 31, 40]) assert.equal(await committedChunkHolding(dir, seqno), undefined, `seqno ${seqno}`);
});

test('isCommittedChunkName accepts only a committed chunk file name', () => {
  assert.equal(isCommittedChunkName('ledger_1-10.committed'), true);
  for (const name of ['ledger_1-10', 'ledger_11', 'ledger_1-10.committed.ignored', '../ledger_1-10.committed', 'ledger_1-10.committed/x', 'snapshot_1_2.committed']) {
    assert.equal(isCommittedChunkName(name), false, name);
  }
});

test('committedChunkHolding says which directory it cannot read', async () => {
  await assert.rejects(committedChunkHolding(join(tmpdir(), 'coco-no-such-ledger-dir'), 1), (error: Error & { code?: string }) => {
    assert.equal(error.code, 'LedgerDirectoryUnreadable');
    assert.match(error.message, /coco-no-such-ledger-dir/);
    return true;
  });
});
