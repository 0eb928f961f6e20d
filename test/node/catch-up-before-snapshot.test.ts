// A backup that was down while the other nodes restarted in place, each from its latest snapshot,
// lags from before the snapshot its primary started from. When the primary's committed chunks hold
// the ledger before that snapshot, it sends the backup those entries, as a primary that never
// restarted does (and as CCF's host reads them from its ledger files); only when they are gone does
// it tell the operator to give the backup a snapshot, in words that stay true.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import test, { type TestContext } from 'node:test';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { SNAPSHOT_ADVICE_REPEAT_MS } from '../../src/node/node.js';
import { InProcessNetwork, type NetworkNode } from '../support/in-process-network.js';
import { readRecord, writeRecord } from '../support/records.js';
import { restartFromSnapshot } from '../support/restart-in-place.js';

/** The restarted nodes' clock runs this far ahead of the real one. */
const clock = { aheadMs: 0 };
const restart = (network: InProcessNetwork, member: NetworkNode) => restartFromSnapshot(network, member, { nowMs: () => Date.now() + clock.aheadMs });

/**
 * Three nodes; n2 is cut off while 120 writes commit (snapshots every 20), then n0 and n1 restart
 * from their latest snapshots, past everything n2 holds. `beforeRestart` may change their files.
 */
async function laggingBehindRestartedNodes(t: TestContext, beforeRestart: (member: NetworkNode, network: InProcessNetwork) => void = () => {}) {
  const network = await InProcessNetwork.start(3, { snapshotTxCount: 20 });
  t.after(() => network.close());
  const [n0, n1, lagging] = network.nodes as [NetworkNode, NetworkNode, NetworkNode];
  network.isolate(lagging.name);
  let last: TxId | undefined;
  for (let i = 0; i < 120; i++) last = writeRecord(network.primary().node, `k${i}`, `v${i}`);
  await network.waitFor(() => [n0, n1].every((m) => m.node.status(last!) === 'Committed' && m.node.snapshots.latestCommittedName() !== undefined));
  for (const member of [n1, n0]) {
    beforeRestart(member, network);
    await restart(network, member);
    await network.waitFor(() => network.nodes.some((m) => m !== lagging && m.node.isPrimary) && member.node.commitTxId.seqno >= last!.seqno);
  }
  for (const member of [n0, n1]) assert.ok(member.node.startupSeqno > lagging.node.lastTxId.seqno, `${member.name} started from a snapshot past n2's last entry`);
  return { network, lagging, last: last! };
}

test('a backup lagging from before the snapshot its primary restarted from catches up from the committed chunks the primary kept', async (t) => {
  const { network, lagging, last } = await laggingBehindRestartedNodes(t);
  const logged: string[] = [];
  t.mock.method(console, 'log', (line: string) => void logged.push(line));
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  network.isolate(lagging.name, false);
  await network.waitFor(() => lagging.node.status(last) === 'Committed');
  const about = logged.filter((line) => line.includes(lagging.node.nodeId.slice(0, 12)) && line.includes('lack'));
  assert.equal(about.length, 1, about.join('\n'));
  assert.match(about[0]!, /\[info \] .*lacking entries from before seqno \d+, where this node's log starts \(it started from a snapshot\): sending them from its committed ledger chunks$/);
  for (let i = 0; i < 120; i += 17) assert.equal(readRecord(lagging.node, `k${i}`), `v${i}`);
  const after = writeRecord(network.primary().node, 'after', 'caught up');
  await network.waitFor(() => lagging.node.status(after) === 'Committed');
  assert.equal(readRecord(lagging.node, 'after'), 'caught up');
});

test('a primary whose chunks before its snapshot are gone tells the operator to give the lagging backup the latest committed snapshot of its directory: once, and again only minutes later', async (t) => {
  const { network, lagging } = await laggingBehindRestartedNodes(t, (member, network) => {
    // As files_cleanup or an operator leaves a node: no ledger before its latest snapshot.
    const startsAt = member.node.snapshots.loadLatest(network.service.certPem, new LedgerSecrets(member.node.options.ledgerSecrets.all()))!.txId.seqno;
    for (const file of listChunkFiles(member.ledgerDirectory)) if (file.chunk.committed && file.chunk.last! <= startsAt) rmSync(file.path);
  });
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  network.isolate(lagging.name, false);
  const primary = network.primary();
  const advice = (line: string) => line.includes(`node ${lagging.node.nodeId.slice(0, 12)} lacks entries`);
  await network.waitFor(() => logged.some(advice));
  await new Promise((resolve) => setTimeout(resolve, 300)); // dozens of heartbeats more
  assert.equal(logged.filter(advice).length, 1, `said once, not at each heartbeat: ${JSON.stringify(logged)}`);
  const line = logged.find(advice)!;
  assert.ok(line.includes(`and this node's ledger does not hold them (no committed chunk in ${primary.ledgerDirectory} starts at seqno 1): `), line);
  assert.ok(line.endsWith(`stop that node, copy the latest committed snapshot in ${primary.node.snapshots.directory} into its snapshots.directory, and restart it`), line);
  assert.ok(lagging.node.lastTxId.seqno < primary.node.startupSeqno);

  t.after(() => void (clock.aheadMs = 0));
  clock.aheadMs = SNAPSHOT_ADVICE_REPEAT_MS;
  await network.waitFor(() => logged.filter(advice).length === 2);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const withoutTime = (text: string) => text.replace(/^\S+ /, '');
  assert.deepEqual(logged.filter(advice).map(withoutTime), [line, line].map(withoutTime), 'said again once the interval passed, and only once');
});
