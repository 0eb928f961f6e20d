// A backup that lagged, restarted from a newer snapshot copied from another node (the operator's
// remedy), sets aside the open chunk it held from before that snapshot. The warning says what is
// true: where the chunk ends, that it is not contiguous with the snapshot, and that its entries
// committed as far as the node's commit marker says (not that they never did).

import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { commitMarkerPath } from '../../src/node/commit-marker-file.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { InProcessNetwork, type NetworkNode } from '../support/in-process-network.js';
import { writeRecord } from '../support/records.js';
import { restartFromSnapshot } from '../support/restart-in-place.js';

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * n2 commits entries of an open chunk, is cut off while the others write past a snapshot, and is
 * restarted from a copy of the primary's latest snapshot (`keepMarker`: with its commit marker).
 */
async function restartedPastItsOpenChunk(t: TestContext, keepMarker: boolean) {
  const network = await InProcessNetwork.start(3, { snapshotTxCount: 40 });
  t.after(() => network.close());
  const primary = network.primary();
  const lagging = network.nodes.find((n) => n !== primary) as NetworkNode;
  const openChunk = () => listChunkFiles(lagging.ledgerDirectory).find((file) => file.chunk.last === undefined);
  // Until the open chunk holds an entry the lagging node knows committed.
  for (let i = 0; openChunk() === undefined || openChunk()!.chunk.first > lagging.node.commitTxId.seqno; i++) {
    const txId = writeRecord(primary.node, `early${i}`, 'v');
    await network.waitFor(() => lagging.node.status(txId) === 'Committed');
  }
  network.isolate(lagging.name);
  await new Promise((resolve) => setTimeout(resolve, 20)); // messages already on their way arrive
  const { name, chunk } = openChunk()!;
  const committedSeqno = lagging.node.commitTxId.seqno;
  const lastSeqno = lagging.node.lastTxId.seqno;
  for (let i = 0; i < 100; i++) writeRecord(primary.node, `k${i}`, `v${i}`);
  await network.waitFor(() => (primary.node.snapshots.latestCommittedName() ?? '') !== '' && primary.node.startupSeqno === 0 && Number(/^snapshot_(\d+)_/.exec(primary.node.snapshots.latestCommittedName()!)![1]) > lastSeqno + 1);
  const snapshot = primary.node.snapshots.latestCommittedName()!;
  copyFileSync(join(primary.node.snapshots.directory, snapshot), join(lagging.node.snapshots.directory, snapshot));
  if (!keepMarker) rmSync(commitMarkerPath(lagging.node.options.consensusStateFile));
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  await restartFromSnapshot(network, lagging);
  t.mock.restoreAll();
  network.isolate(lagging.name, false);
  assert.ok(existsSync(join(lagging.ledgerDirectory, `${name}.ignored`)));
  return { logged: logged.filter((line) => line.includes(name)), name, snapshot, first: chunk.first, committedSeqno, lastSeqno };
}

test("a chunk set aside at a restart from a later snapshot is said to end before it, not contiguous, and committed as far as the node's commit marker says", async (t) => {
  const { logged, name, snapshot, committedSeqno, lastSeqno } = await restartedPastItsOpenChunk(t, true);
  const seqno = /^snapshot_(\d+)_/.exec(snapshot)![1];
  assert.deepEqual(logged.map((line) => line.replace(/^.*?coco node \w+: /, '')), [
    `${name} ends at seqno ${lastSeqno}, before snapshot ${snapshot} (seqno ${seqno}), which this node starts from, and is not contiguous with it; ` +
      `it is not a committed chunk (this node committed its entries up to seqno ${committedSeqno}, as its commit marker says, but stopped before the chunk was completed and marked committed), ` +
      `and a node keeps only committed chunks before its snapshot: set aside as ${name}.ignored, kept for inspection but never read again`,
  ]);
  assert.doesNotMatch(logged[0]!, /never committed/);
});

test('without a commit marker, a chunk set aside at a restart from a later snapshot is said to hold entries not known committed', async (t) => {
  const { logged, name } = await restartedPastItsOpenChunk(t, false);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, new RegExp(`${escaped(name)} ends at seqno \\d+, before snapshot .* is not a committed chunk \\(whether its entries committed is not known here: a primary may have rolled them back since\\), .*set aside as ${escaped(name)}\\.ignored`));
});
