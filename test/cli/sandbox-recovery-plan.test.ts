// The files `coco sandbox --recover` arranges before its recovering node starts, on a workspace
// laid out as the sandbox leaves one: the ledger that committed the most is recovered, completed
// with the chunks before it from a node that holds them when it joined from a snapshot; run again,
// an interrupted attempt's node directories are set aside whole and node 0 is made afresh; the
// node's configuration names this workspace's certificate (a copied workspace's nodes name the
// original's); what is missing is said, not thrown as ENOENT.

import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { planRecovery, prepareRecoveringNode, readRecoveryPlan } from '../../src/cli/sandbox-recovery-plan.js';
import { CocoError } from '../../src/errors.js';
import { parseSnapshotFileName } from '../../src/ledger/committed-snapshot.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { stoppedNode } from '../support/stopped-node.js';

const RECOVER = { type: 'Recover' };

/** A node directory as the sandbox leaves it: config, chunk files (content is not read here) and commit marker. */
function node(workspace: string, name: string, chunks: string[], committed: number): void {
  const dir = join(workspace, name);
  mkdirSync(join(dir, 'ledger'), { recursive: true });
  for (const chunk of chunks) writeFileSync(join(dir, 'ledger', chunk), `${name} ${chunk}`);
  writeFileSync(join(dir, 'consensus_state.commit.json'), JSON.stringify({ view: 2, seqno: committed }));
  const config = { network: { rpc_interfaces: { primary: { bind_address: `127.0.0.1:${8000 + Number(name.slice(8))}` } } }, command: { type: 'Join', service_certificate_file: '/elsewhere/sandbox_common/service_cert.pem' } };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
}

function workspace(t: { after(fn: () => void): void }): { workspace: string; common: string } {
  const root = mkdtempSync(join(tmpdir(), 'coco-recovery-plan-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const common = join(root, 'workspace', 'sandbox_common');
  mkdirSync(common, { recursive: true });
  writeFileSync(join(common, 'service_cert.pem'), 'the previous service certificate');
  return { workspace: join(root, 'workspace'), common };
}

test('the longest committed ledger is recovered, after the chunks before it of a node that holds them; taken again, nothing changes', (t) => {
  const { workspace: ws, common } = workspace(t);
  node(ws, 'sandbox_0', ['ledger_1-10.committed', 'ledger_11-20.committed', 'ledger_21-30.committed', 'ledger_31'], 30);
  // Node 1 joined from the snapshot at 20 and committed the most.
  node(ws, 'sandbox_1', ['ledger_21-30.committed', 'ledger_31-40.committed', 'ledger_41'], 40);
  const plan = planRecovery(ws, common);
  assert.deepEqual({ ...plan, previous: undefined }, { previous: undefined, nodes: ['sandbox_0', 'sandbox_1'], source: 'sandbox_1', committedSeqno: 40, beginning: 'sandbox_0' });
  assert.deepEqual(readRecoveryPlan(ws), plan, 'recorded before anything moves');
  assert.equal(JSON.parse(readFileSync(join(ws, 'recovery.json'), 'utf8')).previous, 'previous_service_1', 'by name: a copy of the workspace has its own');
  assert.equal(readFileSync(join(plan.previous, 'service_cert.pem'), 'utf8'), 'the previous service certificate', 'kept before the plan is recorded');

  const prepared = prepareRecoveringNode(ws, common, plan, RECOVER);
  assert.deepEqual(prepared, { recovering: join(ws, 'sandbox_0'), moved: true });
  assert.deepEqual(readdirSync(plan.previous).sort(), ['sandbox_0', 'sandbox_1', 'service_cert.pem']);
  const ledger = join(prepared.recovering, 'ledger');
  assert.deepEqual(readdirSync(ledger).sort(), ['ledger_1-10.committed', 'ledger_11-20.committed', 'ledger_21-30.committed', 'ledger_31-40.committed', 'ledger_41']);
  assert.equal(readFileSync(join(ledger, 'ledger_1-10.committed'), 'utf8'), 'sandbox_0 ledger_1-10.committed');
  assert.equal(readFileSync(join(ledger, 'ledger_21-30.committed'), 'utf8'), 'sandbox_1 ledger_21-30.committed', "the source's own chunks win");
  const config = JSON.parse(readFileSync(join(prepared.recovering, 'config.json'), 'utf8')) as { command: Record<string, unknown>; network: unknown };
  assert.deepEqual(config.command, { service_certificate_file: join(common, 'service_cert.pem'), type: 'Recover' }, "this workspace's certificate, not the one the old configuration names");
  assert.equal(JSON.stringify(config.network).includes('8000'), true, "node 0's ports");

  // Interrupted after node 0 recovered and a joiner started: run again, the attempt is set aside whole
  // and node 0 is made afresh from the previous service's ledgers, which nothing touched.
  writeFileSync(join(ledger, 'ledger_42'), 'written by the recovering node');
  mkdirSync(join(ws, 'sandbox_1'));
  const again = prepareRecoveringNode(ws, common, plan, RECOVER);
  assert.deepEqual(again, { recovering: join(ws, 'sandbox_0'), moved: false, setAside: join(plan.previous, 'interrupted_1') });
  assert.deepEqual(readdirSync(join(plan.previous, 'interrupted_1')).sort(), ['sandbox_0', 'sandbox_1']);
  assert.ok(existsSync(join(plan.previous, 'interrupted_1', 'sandbox_0', 'ledger', 'ledger_42')));
  assert.ok(!existsSync(join(ledger, 'ledger_42')));
  assert.ok(!existsSync(join(ws, 'sandbox_1')));
  assert.equal(readdirSync(join(plan.previous, 'sandbox_1', 'ledger')).length, 3, "the previous service's nodes are as they were");
});

test('a workspace whose every ledger starts after seqno 1 recovers from the source\'s snapshots; without any, and with a recorded source gone, it is refused naming what is missing', (t) => {
  const { workspace: ws, common } = workspace(t);
  node(ws, 'sandbox_0', ['ledger_21-30.committed'], 30);
  node(ws, 'sandbox_1', ['ledger_21-30.committed', 'ledger_31'], 35);
  assert.throws(() => planRecovery(ws, common), (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'LedgerMissing', String(error));
    assert.match(error.message, /no node of .* holds the service's ledger from seqno 1 \(each joined from a snapshot, and the ledger before it is gone\), nor a committed snapshot to recover from/);
    return true;
  });
  assert.ok(!existsSync(join(ws, 'recovery.json')), 'nothing is recorded');
  // With committed snapshots (on any node), the ledger is recovered from one; copies that their
  // receipts do not prove (these are not snapshots at all) are left out.
  mkdirSync(join(ws, 'sandbox_0', 'snapshots'));
  for (const name of ['snapshot_10_11.committed', 'snapshot_20_21.committed', 'snapshot_30_31']) writeFileSync(join(ws, 'sandbox_0', 'snapshots', name), name);
  const fromSnapshot = planRecovery(ws, common);
  assert.equal(fromSnapshot.source, 'sandbox_1');
  assert.equal(fromSnapshot.beginning, undefined);
  const prepared = prepareRecoveringNode(ws, common, fromSnapshot, RECOVER);
  assert.deepEqual(readdirSync(join(prepared.recovering, 'snapshots')), []);
  assert.deepEqual(readdirSync(join(prepared.recovering, 'ledger')).sort(), ['ledger_21-30.committed', 'ledger_31']);
  rmSync(ws, { recursive: true });
  mkdirSync(common, { recursive: true });
  writeFileSync(join(common, 'service_cert.pem'), 'the previous service certificate');
  node(ws, 'sandbox_0', ['ledger_21-30.committed'], 30);
  node(ws, 'sandbox_1', ['ledger_21-30.committed', 'ledger_31'], 35);

  rmSync(join(ws, 'sandbox_0'), { recursive: true });
  node(ws, 'sandbox_0', ['ledger_1-20.committed', 'ledger_21-30.committed'], 30);
  const plan = planRecovery(ws, common);
  rmSync(join(ws, 'sandbox_1'), { recursive: true });
  assert.throws(() => prepareRecoveringNode(ws, common, plan, RECOVER), (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'LedgerMissing', String(error));
    assert.match(error.message, /takes the ledger of node sandbox_1, but .*previous_service_1\/sandbox_1\/ledger holds none/);
    return true;
  });
  assert.ok(!existsSync(join(ws, 'sandbox_0')), 'no half-made node directory');

  // The directory the recovery keeps the previous service in, gone (or a copied plan naming another's).
  rmSync(plan.previous, { recursive: true });
  assert.throws(() => prepareRecoveringNode(ws, common, plan, RECOVER), /keeps the previous service's nodes and certificate in .*previous_service_1, but .*service_cert\.pem is missing: put that directory back/);
  writeFileSync(join(ws, 'recovery.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(ws, 'recovery.json'), 'utf8')), previous: '/elsewhere/previous_service_1' }));
  assert.throws(() => readRecoveryPlan(ws), /not the name of a previous_service_<n> directory of the workspace/);
});

test("a recovery from snapshots takes each from the first node whose copy its receipt proves: one damaged on the source is taken from another node", { timeout: 120_000 }, async (t) => {
  const { workspace: ws, common } = workspace(t);
  const source = join(ws, 'sandbox_0');
  mkdirSync(source, { recursive: true });
  await stoppedNode(source, 35);
  copyFileSync(join(source, 'service_cert.pem'), join(common, 'service_cert.pem'));
  cpSync(source, join(ws, 'sandbox_1'), { recursive: true });
  // Both joined from the latest snapshot: their chunks up to it are gone. Node 0 committed the most.
  const snapshots = readdirSync(join(source, 'snapshots')).filter((name) => parseSnapshotFileName(name)?.committed === true);
  const latest = snapshots.sort((a, b) => parseSnapshotFileName(b)!.seqno - parseSnapshotFileName(a)!.seqno)[0]!;
  for (const dir of [source, join(ws, 'sandbox_1')]) {
    for (const file of listChunkFiles(join(dir, 'ledger'))) if ((file.chunk.last ?? Infinity) <= parseSnapshotFileName(latest)!.seqno) rmSync(file.path);
  }
  writeFileSync(join(ws, 'sandbox_1', 'consensus_state.commit.json'), JSON.stringify({ view: 2, seqno: 1 }));
  const intact = readFileSync(join(source, 'snapshots', latest));
  const damaged = new Uint8Array(intact);
  damaged[100]! ^= 1;
  writeFileSync(join(source, 'snapshots', latest), damaged);
  const plan = planRecovery(ws, common);
  assert.equal(plan.source, 'sandbox_0');
  const prepared = prepareRecoveringNode(ws, common, plan, RECOVER);
  assert.deepEqual(readdirSync(join(prepared.recovering, 'snapshots')).sort(), [...snapshots].sort(), 'every committed snapshot, each proven');
  assert.deepEqual(readFileSync(join(prepared.recovering, 'snapshots', latest)), intact, "node 1's copy of the latest");
});
