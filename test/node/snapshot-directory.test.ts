// The node's snapshot directory: committed snapshots written in order off the event loop, and
// with files_cleanup.max_snapshots, only the newest kept.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { splitCommittedSnapshot } from '../../src/ledger/committed-snapshot.js';
import type { TxReceipt } from '../../src/ledger/receipt.js';
import { SnapshotDirectory } from '../../src/node/snapshot-directory.js';
import { snapshotService } from '../ledger/snapshot-fixture.js';

const service = snapshotService();
const receipt = JSON.parse(Buffer.from(splitCommittedSnapshot(service.file).receipt).toString()) as TxReceipt;

function withDirectory(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-snapshots-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function commitFour(directory: SnapshotDirectory): Promise<void> {
  for (const seqno of [10, 40, 20, 30]) {
    directory.writePending(seqno, seqno + 1, service.snapshot);
    directory.commit(seqno, seqno + 1, service.snapshot, receipt);
  }
  directory.writePending(50, 51, service.snapshot);
  await directory.flushed();
}

test('with max_snapshots, a committed snapshot deletes the oldest beyond it; pending ones stay', () =>
  withDirectory(async (dir) => {
    writeFileSync(join(dir, 'notes.txt'), 'not a snapshot');
    const directory = new SnapshotDirectory(dir, 2);
    await commitFour(directory);
    assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'snapshot_30_31.committed', 'snapshot_40_41.committed', 'snapshot_50_51']);
    assert.equal(directory.latestCommittedName(), 'snapshot_40_41.committed');
    assert.deepEqual(directory.read('snapshot_40_41.committed'), service.file, 'the committed file is the snapshot and its receipt');
  }));

test('without max_snapshots every committed snapshot is kept', () =>
  withDirectory(async (dir) => {
    await commitFour(new SnapshotDirectory(dir));
    assert.equal(readdirSync(dir).filter((name) => name.endsWith('.committed')).length, 4);
  }));
