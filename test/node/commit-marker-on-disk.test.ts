// A node's commit marker must name an entry its ledger files hold: a restart after a crash takes the
// marker's commit only when it finds that entry, and otherwise falls back to what the committed
// chunks show, reporting as Pending (or Unknown) what it had reported Committed. A backup learns of
// commits while its newest entries wait in memory for the fsync under way to end, so the marker
// must follow what is written, not what is known committed.

import assert from 'node:assert/strict';
import fs, { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import test from 'node:test';
import { openChunkEntries } from '../../src/ledger/chunk-file.js';
import { CommitMarker, commitMarkerPath, readCommitMarker } from '../../src/node/commit-marker-file.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { InProcessNetwork, type NetworkNode } from '../support/in-process-network.js';
import { onceRead } from '../support/read-back.js';
import { writeRecord } from '../support/records.js';

/** The last seqno whose whole entry a node's ledger directory holds now. */
function lastSeqnoOnDisk(member: NetworkNode): number {
  const last = listChunkFiles(member.ledgerDirectory, { allowEmpty: true }).at(-1);
  if (last === undefined) return 0;
  if (last.chunk.last !== undefined) return last.chunk.last;
  return last.chunk.first + openChunkEntries(readFileSync(last.path)).count - 1;
}

test("a backup catching up never has a commit marker that names an entry its ledger files do not hold yet, nor one that is no signature", { timeout: 120_000 }, async (t) => {
  // A slow disk: entries that arrive while an fsync runs wait in memory for the next batch.
  const realFsync = fs.fsync;
  t.mock.method(fs, 'fsync', (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => setTimeout(() => realFsync(fd, callback), Math.random() * 40));
  syncBuiltinESMExports();
  t.after(() => {
    t.mock.restoreAll();
    syncBuiltinESMExports();
  });
  // Signatures further apart than a message's entries (64): batches end between them.
  const network = await InProcessNetwork.start(3, { signatureTxCount: 100 });
  t.after(() => network.close());
  const primary = network.primary();
  const lagging = network.nodes.find((n) => n !== primary)!;
  const markerFile = commitMarkerPath(lagging.node.options.consensusStateFile);
  // Every marker the lagging node writes, checked against its files as it writes it: a crash could come right after.
  const ahead: string[] = [];
  const marked = new Map<number, TxId>();
  const write = CommitMarker.prototype.write;
  t.mock.method(CommitMarker.prototype, 'write', function (this: CommitMarker, txId: TxId) {
    write.call(this, txId);
    if (readCommitMarker(markerFile)?.seqno !== txId.seqno) return; // another node's marker
    marked.set(txId.seqno, txId);
    const onDisk = lastSeqnoOnDisk(lagging);
    if (txId.seqno > onDisk) ahead.push(`${txId.seqno} > ${onDisk}`);
  });
  // It falls behind by thousands of entries, then catches up in batches the primary sends on
  // without waiting: while one batch's fsync runs, the next waits in memory, its commit known.
  network.isolate(lagging.name);
  let last = primary.node.lastTxId;
  for (let i = 0; i < 2000; i++) {
    last = writeRecord(primary.node, `k${i}`, 'v'.repeat(200));
    if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await network.waitFor(() => primary.node.status(last) === 'Committed', 60_000);
  const before = marked.size;
  network.isolate(lagging.name, false);
  await network.waitFor(() => lagging.node.status(last) === 'Committed', 60_000);
  assert.ok(marked.size > before + 5, `the marker was written while the backup caught up (${marked.size - before} times)`);
  assert.deepEqual(ahead, [], "markers written past the backup's ledger files");
  // And each names a signature: a restart drops the entries after the last one it finds.
  for (const txId of marked.values()) {
    const receipt = await onceRead(() => primary.node.receipt(txId));
    assert.ok(!('leaf_components' in receipt), `the marker named ${formatTxId(txId)}, which is not a signature transaction`);
  }
  // Once all is written, the marker names the commit itself.
  await network.waitFor(() => readCommitMarker(markerFile)?.seqno === lagging.node.commitTxId.seqno);
});
