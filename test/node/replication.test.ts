// Nodes replicating in one process (real ledgers on disk, the channel codec on every message):
// backups hold what the primary committed and give receipts for it; a primary cut off from the
// others loses its uncommitted writes when it comes back (store, ledger files and statuses rolled
// back); a transaction too large to replicate is refused without a trace.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { decodePrimarySignature, SIGNATURES_MAP, SINGLETON_KEY } from '../../src/ledger/signature.js';
import { LedgerVerifier } from '../../src/ledger/ledger-verifier.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles, type ChunkFile } from '../../src/node/ledger-directory.js';
import { signatureRecordOf } from '../../src/node/signature-record.js';
import { asRpcError } from '../../src/rpc/rpc-error.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import { readNodeRecords } from '../../src/node/service-nodes.js';
import { Node } from '../../src/node/node.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import { readRecord, writeRecord } from '../support/records.js';
import { InProcessNetwork } from '../support/in-process-network.js';
import { onceRead } from '../support/read-back.js';


function verifyLedgerDirectory(directory: string, serviceCertPem: string) {
  const verifier = new LedgerVerifier({ trustedServiceCertPem: serviceCertPem });
  for (const file of listChunkFiles(directory)) verifier.addChunk(file.name, new Uint8Array(readFileSync(file.path)));
  return verifier.finish();
}

test('backups apply what the primary commits, answer its status and give receipts that verify', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary().node;
  const txId = writeRecord(primary, 'k', 'v');
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(txId) === 'Committed'));
  for (const { node } of network.nodes) {
    assert.equal(readRecord(node, 'k'), 'v');
    assert.equal(verifyReceipt(node.receipt(txId), network.service.certPem, { at: new Date() }).txId, `${txId.view}.${txId.seqno}`);
  }
  const backup = network.nodes.find(({ node }) => !node.isPrimary)!.node;
  assert.throws(() => writeRecord(backup, 'k', 'w'), (e: unknown) => e instanceof CocoError && e.code === 'NotPrimary');
});

test("as CCF 6's, a signature's deprecated commit_seqno and commit_view are 0, whatever has committed", async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary().node;
  const first = writeRecord(primary, 'k1', 'v');
  await network.waitFor(() => primary.status(first) === 'Committed');
  const second = writeRecord(primary, 'k2', 'v');
  await network.waitFor(() => primary.status(second) === 'Committed');
  const signature = primary.execute((tx) => ({ result: tx.map(SIGNATURES_MAP).get(SINGLETON_KEY), applyWrites: false })).result!;
  const { json } = decodePrimarySignature(signature);
  assert.ok(json.seqno > second.seqno);
  assert.ok(primary.commitTxId.seqno >= first.seqno);
  assert.deepEqual([json.commit_view, json.commit_seqno], [0, 0]);
});

test('entries reach the ledger files with the signature that covers them: one fsync per signature, on every node', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary();
  const first = writeRecord(primary.node, 'first', 'v');
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(first) === 'Committed'));
  const bytesOnDisk = (directory: string) => listChunkFiles(directory).reduce((sum, file) => sum + statSync(file.path).size, 0);
  const before = network.nodes.map(({ ledgerDirectory }) => bytesOnDisk(ledgerDirectory));
  // Writes in one turn of the event loop: the signature after them comes from a timer, later.
  const written = Array.from({ length: 5 }, (_, i) => writeRecord(primary.node, `k${i}`, 'v'));
  assert.equal(bytesOnDisk(primary.ledgerDirectory), before[0], 'no entry written before the signature that covers it');
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(written.at(-1)!) === 'Committed'));
  network.nodes.forEach(({ name, ledgerDirectory }, i) => assert.ok(bytesOnDisk(ledgerDirectory) > before[i]!, `${name} holds the committed writes on disk`));
  const summary = verifyLedgerDirectory(primary.ledgerDirectory, network.service.certPem);
  assert.ok(summary.lastVerifiedTxId!.seqno > written.at(-1)!.seqno, 'the ledger files hold the writes and the signature after them');
});

test('a primary cut off from the others loses its uncommitted writes when it returns, everywhere', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const old = network.primary();
  const warnings: string[] = [];
  t.mock.method(console, 'error', (line: string) => warnings.push(line));
  network.isolate(old.name);
  const lost = writeRecord(old.node, 'lost', 'never committed');
  await network.waitFor(() => network.nodes.some((n) => n !== old && n.node.isPrimary));
  const next = network.nodes.find((n) => n !== old && n.node.isPrimary)!;
  assert.ok(next.node.role.view > lost.view, 'a new primary in a later view');
  const kept = writeRecord(next.node, 'kept', 'committed');
  await network.waitFor(() => next.node.status(kept) === 'Committed');
  assert.equal(old.node.status(lost), 'Pending', 'cut off, the old primary cannot commit');

  network.isolate(old.name, false);
  await network.waitFor(() => old.node.status(kept) === 'Committed');
  assert.equal(old.node.isPrimary, false);
  // It says once why it stopped leading: check-quorum while cut off, or the newer view on its return.
  const steppedDown = warnings.filter((line) => line.includes(`coco node ${old.node.nodeId.slice(0, 12)}: stepped down as primary of view ${lost.view}: `));
  assert.equal(steppedDown.length, 1, warnings.join('\n'));
  const line = steppedDown[0]!;
  const quorumLost = /no word for an election timeout from (node \w+(?:, node \w+)*), so it no longer reaches a majority/.exec(line);
  if (quorumLost !== null) {
    const others = network.nodes.filter((n) => n !== old).map((n) => `node ${n.node.nodeId.slice(0, 12)}`);
    assert.deepEqual(quorumLost[1]!.split(', ').sort(), others.sort(), line);
  } else {
    // Whichever node's message carried the newer view first: the new primary's, or the other backup's.
    const [, from, view] = /: node (\w+) is in view (\d+) \(/.exec(line) ?? [];
    assert.ok(network.nodes.some((n) => n !== old && n.node.nodeId.startsWith(from ?? '-')) && Number(view) > lost.view, line);
  }
  // The old primary says what it dropped, in the operator's words.
  const rolledBack = warnings.filter((line) => line.includes(`coco node ${old.node.nodeId.slice(0, 12)}: rolled back `));
  assert.equal(rolledBack.length, 1, warnings.join('\n'));
  const [, first, last] = /rolled back \d+ uncommitted entr(?:y|ies) \(seqno (\d+) to (\d+)\) that the primary's log does not hold: their transactions are Invalid$/.exec(rolledBack[0]!) ?? [];
  assert.ok(first !== undefined && Number(first) <= lost.seqno && lost.seqno <= Number(last), rolledBack[0]);
  for (const { node } of network.nodes) {
    assert.equal(node.status(lost), 'Invalid');
    assert.equal(readRecord(node, 'lost'), undefined, 'the rolled-back write is gone from the store');
    assert.equal(readRecord(node, 'kept'), 'committed');
  }
  // The old primary's ledger files were cut back and continued: they verify, and hold the new view.
  const summary = verifyLedgerDirectory(old.ledgerDirectory, network.service.certPem);
  assert.ok(summary.lastVerifiedTxId!.seqno >= kept.seqno);
  assert.ok(summary.lastVerifiedTxId!.view > lost.view);
});

/** Three nodes keeping no committed entry in memory, one backup cut off while `count` writes committed. */
async function backupLeftBehind(t: TestContext, count: number) {
  const network = await InProcessNetwork.start(3, { retainedEntries: 0 });
  t.after(() => network.close());
  const primary = network.primary();
  const lagging = network.nodes.find((n) => n !== primary)!;
  network.isolate(lagging.name);
  const written: TxId[] = [];
  for (let i = 0; i < count; i++) written.push(writeRecord(primary.node, `k${i}`, `v${i}`));
  const last = written.at(-1)!;
  await network.waitFor(() => primary.node.status(last) === 'Committed');
  return { network, primary, lagging, written, last };
}

test('a backup cut off while the primary dropped committed entries from memory catches up from the primary\'s ledger files', async (t) => {
  const { network, primary, lagging, written, last } = await backupLeftBehind(t, 300);
  assert.ok(primary.node.consensusLogEntries < 20, `the primary holds ${primary.node.consensusLogEntries} entries in memory, not the ${last.seqno} of its ledger`);
  assert.ok(lagging.node.lastTxId.seqno < written[0]!.seqno);

  network.isolate(lagging.name, false);
  await network.waitFor(() => lagging.node.status(last) === 'Committed');
  for (let i = 0; i < 300; i += 23) assert.equal(readRecord(lagging.node, `k${i}`), `v${i}`);
  assert.equal(verifyReceipt(lagging.node.receipt(written[150]!), network.service.certPem, { at: new Date() }).txId, `${written[150]!.view}.${written[150]!.seqno}`);
  await network.waitFor(() => verifyLedgerDirectory(lagging.ledgerDirectory, network.service.certPem).lastVerifiedTxId!.seqno >= last.seqno);
  assert.ok(lagging.node.consensusLogEntries < 20, 'the backup keeps no more once it committed');
});

test('a primary that cannot read back the entries a lagging backup needs says so once and keeps serving the others', async (t) => {
  const { network, primary, lagging, last } = await backupLeftBehind(t, 100);
  const lost = listChunkFiles(primary.ledgerDirectory).filter((file) => file.chunk.committed);
  assert.ok(lost.length > 1);
  for (const file of lost) rmSync(file.path);
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));

  network.isolate(lagging.name, false);
  const mentionsLagging = (line: string) => line.includes(lagging.node.nodeId.slice(0, 12));
  await network.waitFor(() => logged.some(mentionsLagging));
  await new Promise((resolve) => setTimeout(resolve, 300)); // dozens of heartbeats more
  const about = logged.filter(mentionsLagging);
  // One line per failure (a chunk committed while the files were removed fails on its own), not one per heartbeat.
  assert.ok(about.length <= lost.length + 1 && new Set(about).size === about.length, `no line repeated: ${JSON.stringify(logged)}`);
  assert.match(about[0]!, /could not be read from the ledger .*retrying at each heartbeat/);
  assert.ok(lagging.node.lastTxId.seqno < last.seqno, 'the backup got nothing it could not verify');
  const after = writeRecord(primary.node, 'after', 'still served');
  await network.waitFor(() => primary.node.status(after) === 'Committed');
});

/** What remove_node writes: the node's record goes Retired, and the configuration without it follows. */
function retire(node: Node): void {
  node.execute((tx) => {
    const info = readNodeRecords(node.store).get(node.nodeId)!;
    tx.map(Tables.nodesInfo).set(utf8(node.nodeId), encodeJson({ ...info, status: 'Retired' }));
    return { result: undefined, applyWrites: true };
  });
}

test('a primary whose removal committed is retired once it hands over: it refuses writes as NodeRetired at once, not as a backup awaiting an election', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const leaving = network.primary();
  retire(leaving.node);
  await network.waitFor(() => network.nodes.some(({ node }) => node !== leaving.node && node.isPrimary));
  assert.equal(leaving.node.isPrimary, false);
  assert.equal(leaving.node.stopNotice, true, 'it saw its removal commit in its own log');
  assert.throws(() => writeRecord(leaving.node, 'k', 'v'), (e: unknown) => e instanceof CocoError && e.code === 'NodeRetired');
  const successor = network.primary().node;
  const txId = writeRecord(successor, 'k', 'v');
  await network.waitFor(() => network.nodes.every(({ node }) => node === leaving.node || node.status(txId) === 'Committed'));
});

test('a node restarted after its removal committed starts retired: it takes no writes and never campaigns', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const leaving = network.primary();
  retire(leaving.node);
  await network.waitFor(() => leaving.node.stopNotice && network.nodes.some(({ node }) => node !== leaving.node && node.isPrimary));
  await leaving.node.stop();
  network.nodes.splice(network.nodes.indexOf(leaving), 1);

  // Its own ledger holds its removal, committed: the restart knows it is retired, as before it stopped.
  const { options } = leaving.node;
  const replayed = replayLedger(leaving.ledgerDirectory, { nodeId: leaving.node.nodeId, encryptionPrivateKeyPem: undefined, secrets: options.ledgerSecrets }, options.service.certPem);
  let peers: ReadonlyMap<string, string> | undefined;
  const sent: unknown[] = [];
  const logged: string[] = [];
  t.mock.method(console, 'log', (line: string) => void logged.push(line));
  const restarted = new Node({ ...options, start: { kind: 'resume', replayed }, transport: { send: (message) => void sent.push(message), setPeers: (p) => void (peers = p) } });
  t.mock.restoreAll();
  t.after(() => restarted.stop());
  const { lastTxId, committedSeqno } = replayed; // the commit point as the restart worked it out
  const resumed = `coco node ${restarted.nodeId.slice(0, 12)}: resumed from its ledger to seqno ${lastTxId.seqno}: last transaction ${lastTxId.view}.${lastTxId.seqno}, committed to seqno ${committedSeqno}`;
  assert.ok(logged.some((line) => line.endsWith(resumed)), logged.join('\n'));
  assert.equal(restarted.stopNotice, true);
  assert.equal(readNodeRecords(restarted.store).get(restarted.nodeId)?.status, 'Retired');
  assert.throws(() => writeRecord(restarted, 'k', 'v'), (e: unknown) => e instanceof CocoError && e.code === 'NodeRetired');
  assert.deepEqual([...(peers ?? [])], [], 'it dials no one');
  const view = restarted.role.view;
  await new Promise((resolve) => setTimeout(resolve, 300)); // 60 ticks: three election timeouts
  assert.deepEqual([restarted.role.role, restarted.role.view, sent.length], ['Follower', view, 0], 'it never campaigns');
});

test('a transaction too large to replicate is refused and leaves no trace', async (t) => {
  const network = await InProcessNetwork.start(1);
  t.after(() => network.close());
  const { node } = network.primary();
  const before = node.lastTxId;
  const chunk = new Uint8Array(40 * 1024 * 1024);
  assert.throws(
    () => node.execute((tx) => {
      tx.map('records').set(utf8('a'), chunk);
      tx.map('records').set(utf8('b'), chunk);
      return { result: undefined, applyWrites: true };
    }),
    (e: unknown) => e instanceof CocoError && e.code === 'TransactionTooLarge',
  );
  assert.deepEqual(node.lastTxId, before);
  assert.equal(readRecord(node, 'a'), undefined);
  const next = writeRecord(node, 'small', 'fits');
  assert.equal(next.seqno, before.seqno + 1, 'the refused transaction took no seqno');
  await network.waitFor(() => node.status(next) === 'Committed');
});

test('a primary holding too many uncommitted bytes refuses writes as TooManyPendingTransactions until commit catches up', async (t) => {
  const megabyte = 1024 * 1024;
  const network = await InProcessNetwork.start(3, { maxUncommittedBytes: 3 * megabyte });
  t.after(() => network.close());
  const { node } = network.primary();
  const value = new Uint8Array(megabyte);
  const writeBig = (key: string) => node.execute((tx) => {
    tx.map('records').set(utf8(key), value);
    return { result: undefined, applyWrites: true };
  }).txId!;
  // Synchronous writes: no acknowledgement can arrive between them, so nothing commits meanwhile.
  const accepted = [writeBig('big0'), writeBig('big1'), writeBig('big2')];
  assert.throws(
    () => writeBig('big3'),
    (e: unknown) => e instanceof CocoError && e.code === 'TooManyPendingTransactions' && /bytes await commit/.test(e.message),
  );
  assert.equal(readRecord(node, 'big3'), undefined, 'the refused write left nothing');
  await network.waitFor(() => accepted.every((txId) => node.status(txId) === 'Committed'));
  const after = writeBig('big3');
  await network.waitFor(() => node.status(after) === 'Committed');
});

test('under random partitions, every write reported Committed survives on every node, and every ledger verifies', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  // A fixed sequence of cuts: which node is isolated in each round (-1: none).
  const rounds = [0, -1, 1, 2, -1, 0, 2, -1, 1, -1];
  const committed: { key: string; txId: TxId }[] = [];
  const written: { key: string; txId: TxId; node: Node }[] = [];
  let n = 0;
  for (const isolated of rounds) {
    network.nodes.forEach((node, i) => network.isolate(node.name, i === isolated));
    const deadline = Date.now() + 150;
    while (Date.now() < deadline) {
      for (const { node } of network.nodes) {
        if (!node.isPrimary) continue;
        const key = `k${n++}`;
        try {
          written.push({ key, txId: writeRecord(node, key, key), node });
        } catch (error) {
          if (!(error instanceof CocoError)) throw error;
        }
      }
      for (const w of written.splice(0)) {
        if (w.node.status(w.txId) === 'Committed') committed.push(w);
        else if (w.node.status(w.txId) !== 'Invalid') written.push(w);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  network.nodes.forEach((node) => network.isolate(node.name, false));
  assert.ok(committed.length > 10, `only ${committed.length} writes committed`);
  const last = committed.at(-1)!;
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(last.txId) === 'Committed'));
  for (const { node, ledgerDirectory } of network.nodes) {
    for (const { key, txId } of committed) {
      assert.equal(node.status(txId), 'Committed');
      assert.equal(readRecord(node, key), key);
    }
    assert.ok(verifyLedgerDirectory(ledgerDirectory, network.service.certPem).lastVerifiedTxId!.seqno >= last.txId.seqno);
  }
});

/** Two nodes snapshotting every 20 transactions, 60 writes committed and a snapshot committed. */
async function withCommittedSnapshot(t: TestContext) {
  const network = await InProcessNetwork.start(2, { snapshotTxCount: 20 });
  t.after(() => network.close());
  const primary = network.primary();
  let last: TxId | undefined;
  for (let i = 0; i < 60; i++) last = writeRecord(primary.node, `k${i}`, `v${i}`);
  await network.waitFor(() => primary.node.status(last!) === 'Committed' && primary.node.snapshots.latestCommittedName() !== undefined);
  return { network, primary, last: last! };
}

test('the primary writes committed snapshots with the evidence receipt; a node joins from one and catches up', async (t) => {
  const { network, primary, last } = await withCommittedSnapshot(t);
  const snapshot = primary.node.snapshots.loadLatest(network.service.certPem, new LedgerSecrets([{ fromSeqno: 1, key: network.ledgerKey }]))!;
  assert.ok(snapshot.txId.seqno >= 20 && snapshot.evidenceTxId.seqno > snapshot.txId.seqno);

  const joiner = await network.join({ fromSnapshotOf: primary });
  const after = writeRecord(primary.node, 'after', 'the join');
  await network.waitFor(() => joiner.node.status(after) === 'Committed');
  assert.equal(readRecord(joiner.node, 'k59'), 'v59', 'state from the snapshot and the ledger after it');
  assert.equal(readRecord(joiner.node, 'after'), 'the join');
  assert.equal(joiner.node.status(last), 'Committed');
  assert.equal(verifyReceipt(joiner.node.receipt(after), network.service.certPem, { at: new Date() }).txId, `${after.view}.${after.seqno}`);
  const early = { view: last.view, seqno: 3 };
  // Its ledger directory held nothing before its snapshot when it started: it says so at once, every time, for receipts and historical states.
  const notHeld = (e: unknown) => e instanceof CocoError && e.code === 'ResourceNotFound' && /do not hold .* ask a node that holds/.test(e.message) && asRpcError(e).status === 404;
  for (let i = 0; i < 3; i++) {
    assert.throws(() => joiner.node.receipt(early), notHeld, 'no receipt from before its snapshot');
    assert.throws(() => joiner.node.historical.get(early), notHeld, 'no historical state from before its snapshot');
  }
  // The snapshot's own transaction: committed, and its receipt is known (its signature came with the
  // snapshot), but not its entry, so not its writes: not found at once and every time, never pending.
  // The joiner may have started from a snapshot committed after the one loaded above, while it joined.
  const startedAt = joiner.node.startupSeqno;
  assert.ok(startedAt >= snapshot.txId.seqno, `started from seqno ${startedAt}, not before ${snapshot.txId.seqno}`);
  const atSnapshot = { view: joiner.node.viewOf(startedAt), seqno: startedAt };
  assert.equal(joiner.node.status(atSnapshot), 'Committed');
  assert.equal(verifyReceipt(joiner.node.receipt(atSnapshot), network.service.certPem, { at: new Date() }).root.length, 32);
  for (let i = 0; i < 3; i++) {
    assert.throws(() => joiner.node.historical.get(atSnapshot), (e: unknown) => notHeld(e) && (e as Error).message.includes(`the entry of ${formatTxId(atSnapshot)}`), 'no historical state of its snapshot');
    await new Promise(setImmediate);
  }
  // Its ledger starts right after the snapshot.
  assert.equal(listChunkFiles(joiner.ledgerDirectory)[0]!.chunk.first, startedAt + 1);
});

test("a backup writes the primary's snapshots byte for byte, its ledger chunk ending there, and a node starts from them", async (t) => {
  const { network, primary } = await withCommittedSnapshot(t);
  const backup = network.nodes.find((n) => n !== primary)!;
  // Both settle on the same latest snapshot once the writes stop (a later one may still be committing when the first is).
  let name = '';
  await network.waitFor(() => {
    name = primary.node.snapshots.latestCommittedName() ?? '';
    return name !== '' && backup.node.snapshots.latestCommittedName() === name;
  });
  const file = (node: typeof primary) => readFileSync(join(node.node.snapshots.directory, name));
  assert.ok(file(backup).equals(file(primary)), `${name} is the same file on both nodes`);
  const secrets = new LedgerSecrets([{ fromSeqno: 1, key: network.ledgerKey }]);
  const snapshot = backup.node.snapshots.loadLatest(network.service.certPem, secrets)!;
  assert.ok(listChunkFiles(backup.ledgerDirectory).some((f) => f.chunk.last === snapshot.txId.seqno && f.chunk.committed), 'a committed chunk ends at the snapshot');
  // As the backup restarts: from its snapshot, replaying only the ledger after it, and it says so.
  const logged: string[] = [];
  t.mock.method(console, 'log', (line: string) => void logged.push(line));
  const restarted = await network.join({ fromSnapshotOf: backup, withCommittedLedger: true });
  t.mock.restoreAll();
  assert.equal(restarted.node.startupSeqno, snapshot.txId.seqno);
  const resumed = new RegExp(`coco node ${restarted.node.nodeId.slice(0, 12)}: resumed from snapshot ${name} \\(seqno ${snapshot.txId.seqno}\\)(?: and ledger entries to seqno (\\d+))?: last transaction (\\d+)\\.(\\d+), committed to seqno (\\d+)$`);
  const line = logged.map((l) => resumed.exec(l)).find((match) => match !== null);
  assert.ok(line !== undefined, logged.join('\n'));
  assert.ok(Number(line[4]) >= snapshot.txId.seqno && Number(line[4]) <= Number(line[3]), line[0]);
  assert.ok(line[1] === undefined ? Number(line[3]) === snapshot.txId.seqno : line[1] === line[3], line[0]);
  assert.equal(readRecord(restarted.node, 'k59'), 'v59');
  const after = writeRecord(primary.node, 'after', 'the restart');
  await network.waitFor(() => restarted.node.status(after) === 'Committed');
  assert.equal(readRecord(restarted.node, 'after'), 'the restart');
});

test("a backup writes the primary's snapshots after a map was cleared and rewritten with a key among the others (as set_js_app does to the endpoints table)", async (t) => {
  const { network, primary } = await withCommittedSnapshot(t);
  const backup = network.nodes.find((n) => n !== primary)!;
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  const before = primary.node.snapshots.latestCommittedName();
  // The primary executes the clear and rewrite; the backup applies the same change key by key, the new key last in its Map.
  primary.node.execute((tx) => {
    tx.map('records').clear();
    for (const key of ['k1', 'k10', 'k5', 'k0a']) tx.map('records').set(utf8(key), utf8(`rewritten ${key}`));
    return { result: undefined, applyWrites: true };
  });
  let last: TxId | undefined;
  for (let i = 0; i < 60; i++) last = writeRecord(primary.node, `after${i}`, `v${i}`);
  let name = '';
  await network.waitFor(() => {
    name = primary.node.snapshots.latestCommittedName() ?? '';
    return primary.node.status(last!) === 'Committed' && name !== before && backup.node.snapshots.latestCommittedName() === name;
  });
  const file = (node: typeof primary) => readFileSync(join(node.node.snapshots.directory, name));
  assert.ok(file(backup).equals(file(primary)), `${name} is the same file on both nodes`);
  assert.ok(!logged.some((line) => /differs from the primary's/.test(line)), logged.join('\n'));
});

test('a backup catching up writes every snapshot of the primary, though the evidence of one arrives while it encodes another', async (t) => {
  const network = await InProcessNetwork.start(3, { snapshotTxCount: 20 });
  t.after(() => network.close());
  const primary = network.primary();
  const [late, other] = network.nodes.filter((n) => n !== primary);
  network.isolate(late!.name);
  // Two snapshots, each with its evidence written, while the late backup hears nothing.
  const evidenced = () => readdirSync(primary.node.snapshots.directory).length;
  let last: TxId | undefined;
  for (const round of [1, 2]) {
    for (let i = 0; i < 25; i++) last = writeRecord(primary.node, `r${round}k${i}`, 'v');
    await network.waitFor(() => evidenced() >= round);
  }
  await network.waitFor(() => other!.node.status(last!) === 'Committed');
  const committed = (node: Node) => readdirSync(node.snapshots.directory).filter((name) => name.endsWith('.committed')).sort();
  await network.waitFor(() => committed(primary.node).length === 2);
  // Back, it receives both evidences in one message: the second arrives while the first is encoded.
  network.isolate(late!.name, false);
  await network.waitFor(() => committed(late!.node).length === 2);
  assert.deepEqual(committed(late!.node), committed(primary.node));
  for (const name of committed(primary.node)) {
    assert.ok(readFileSync(join(late!.node.snapshots.directory, name)).equals(readFileSync(join(primary.node.snapshots.directory, name))), name);
  }
});

test('a backup that no longer holds its state at a snapshot when the evidence comes (more chunks closed meanwhile) says it does not write it', async (t) => {
  const network = await InProcessNetwork.start(2, { snapshotTxCount: 20 });
  t.after(() => network.close());
  const primary = network.primary();
  const backup = network.nodes.find((n) => n !== primary)!;
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  // In one turn: past the snapshot interval, then large writes that close a chunk (4 KiB here) at
  // each signature, all before the snapshot is encoded and its evidence written.
  let last = writeRecord(primary.node, 'k0', 'v');
  for (let i = 1; i < 25; i++) last = writeRecord(primary.node, `k${i}`, 'v');
  for (let i = 0; i < 80; i++) last = writeRecord(primary.node, `big${i}`, 'x'.repeat(1024));
  await network.waitFor(() => backup.node.status(last) === 'Committed' && primary.node.snapshots.latestCommittedName() !== undefined);
  const skipped = new RegExp(`coco node ${backup.node.nodeId.slice(0, 12)}: the primary's snapshot at seqno (\\d+) \\(evidence \\d+\\.\\d+\\) is not written here: this node keeps its state at its last 4 ledger chunk ends only`);
  await network.waitFor(() => logged.some((line) => skipped.test(line)));
  const seqno = Number(skipped.exec(logged.find((line) => skipped.test(line))!)![1]);
  const holds = (node: Node) => readdirSync(node.snapshots.directory).some((name) => name.startsWith(`snapshot_${seqno}_`));
  await network.waitFor(() => holds(primary.node));
  assert.equal(holds(backup.node), false, 'the backup did not write it');
});

test("a backup whose state differs from the primary's keeps no snapshot of it, and says so", async (t) => {
  const network = await InProcessNetwork.start(2, { snapshotTxCount: 20 });
  t.after(() => network.close());
  const primary = network.primary();
  const backup = network.nodes.find((n) => n !== primary)!;
  // Over 256 bytes, so that the store keeps the value as the very bytes a read returns (a shorter
  // one is kept as a string, and a read gives a copy).
  const first = writeRecord(primary.node, 'k0', 'v'.repeat(300));
  await network.waitFor(() => backup.node.status(first) === 'Committed');
  // The backup's copy of one value changes under it (as memory corruption would).
  const tx = backup.node.store.beginTransaction();
  tx.map('records').get(utf8('k0'))![0]! ^= 1;
  tx.abort();
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  let last = first;
  for (let i = 1; i < 60; i++) last = writeRecord(primary.node, `k${i}`, `v${i}`);
  await network.waitFor(() => backup.node.status(last) === 'Committed' && primary.node.snapshots.latestCommittedName() !== undefined);
  await network.waitFor(() => logged.some((line) => /differs from the primary's .* not kept/.test(line)));
  assert.equal(backup.node.snapshots.latestCommittedName(), undefined, 'no snapshot on the backup');
  assert.deepEqual(readdirSync(backup.node.snapshots.directory), [], 'not even a pending one');
});

test('a node started from a snapshot with the ledger before it in its directory gives receipts from before the snapshot', async (t) => {
  const { network, primary } = await withCommittedSnapshot(t);
  const restarted = await network.join({ fromSnapshotOf: primary, withCommittedLedger: true });
  assert.ok(restarted.node.startupSeqno >= 20);
  for (const seqno of [3, 10, restarted.node.startupSeqno - 1, restarted.node.startupSeqno]) {
    const txId = { view: primary.node.viewOf(seqno), seqno };
    const verified = verifyReceipt(await onceRead(() => restarted.node.receipt(txId)), network.service.certPem, { at: new Date() });
    assert.ok(verified.txId === undefined || verified.txId === `${txId.view}.${txId.seqno}`, `the receipt of ${txId.view}.${txId.seqno}`);
    assert.deepEqual((await onceRead(() => restarted.node.historical.get(txId))).txId, txId, 'and its historical state');
  }
});

test('a damaged chunk from before the snapshot a node started from gives LedgerEntryMalformed for its receipts, naming the file and seqno, and the node serves on', async (t) => {
  const { network, primary } = await withCommittedSnapshot(t);
  const restarted = await network.join({ fromSnapshotOf: primary, withCommittedLedger: true });
  const startup = restarted.node.startupSeqno;
  const isSignature = (entry: LedgerEntry) => signatureRecordOf(entry.txId.seqno, entry.publicMaps) !== undefined;
  // A signature transaction (before the snapshot's own) right after a transaction: its receipt needs that signature.
  const signatureAfterTransaction = (entries: LedgerEntry[]) => entries.findIndex((entry, i) => i > 0 && entry.txId.seqno < startup && isSignature(entry) && !isSignature(entries[i - 1]!));
  // Neither is replayed at start: the first chunk, and the latest other one before the snapshot with such a signature
  // (which chunk that is depends on the snapshot the node joined from).
  const files = listChunkFiles(restarted.ledgerDirectory);
  const first = files[0]!;
  const last = files.filter((f) => f !== first && (f.chunk.last ?? Infinity) <= startup).reverse().find((f) => signatureAfterTransaction(decodeChunk(new Uint8Array(readFileSync(f.path)), f.name).entries) >= 0);
  assert.ok(last !== undefined, 'a chunk before the snapshot holds a signature after a transaction');
  const damage = (file: ChunkFile, pick: (entries: LedgerEntry[]) => number, byteOf: (raw: Uint8Array) => number): number => {
    const bytes = new Uint8Array(readFileSync(file.path));
    const { entries, offsets } = decodeChunk(bytes, file.name);
    const index = pick(entries);
    const at = offsets[index]! + byteOf(entries[index]!.raw);
    bytes[at] = bytes[at]! ^ 0x80;
    writeFileSync(file.path, bytes);
    return entries[index]!.txId.seqno;
  };
  // A transaction's write set, in the first chunk; the signature JSON (no longer UTF-8) of a signature transaction before the snapshot's, in the last.
  const entrySeqno = damage(first, (entries) => entries.map(isSignature).lastIndexOf(false), (raw) => raw.length - 3);
  const signatureSeqno = damage(last, signatureAfterTransaction, (raw) => Buffer.from(raw).indexOf('"sig":"') + 8);
  assert.ok(signatureSeqno < startup);
  const txIdOf = (seqno: number) => ({ view: primary.node.viewOf(seqno), seqno });
  for (const [txId, names] of [
    [txIdOf(entrySeqno), `${first.name} at seqno ${entrySeqno}: `],
    [txIdOf(signatureSeqno - 1), `${last.name} at seqno ${signatureSeqno}: `],
  ] as const) {
    const malformed = (error: unknown) => error instanceof CocoError && error.code === 'LedgerEntryMalformed' && error.message.startsWith(names) && asRpcError(error).status === 500;
    await assert.rejects(onceRead(() => restarted.node.receipt(txId)), malformed, names);
    for (let i = 0; i < 3; i++) assert.throws(() => restarted.node.receipt(txId), malformed, 'the same answer every time, never 202');
  }
  // The node serves on: a receipt covered by an intact signature of the same chunk, and new writes.
  const intact = txIdOf(startup - 1);
  assert.equal(verifyReceipt(await onceRead(() => restarted.node.receipt(intact)), network.service.certPem, { at: new Date() }).txId, `${intact.view}.${intact.seqno}`);
  const after = writeRecord(primary.node, 'after', 'the damage');
  await network.waitFor(() => restarted.node.status(after) === 'Committed');
  assert.equal(readRecord(restarted.node, 'after'), 'the damage');
});

test('a snapshot holds the state at its seqno, though writes go on while it is written', async (t) => {
  // One snapshot in this test: the next would be due 40 transactions after it.
  const network = await InProcessNetwork.start(1, { snapshotTxCount: 40 });
  t.after(() => network.close());
  const primary = network.primary();
  // All in one turn of the event loop: the snapshot due at the first signature past 40 transactions
  // is written in later turns, after every one of these writes changed the counter.
  const counterAt = new Map<number, string>();
  for (let i = 0; i < 60; i++) counterAt.set(writeRecord(primary.node, 'counter', `c${i}`).seqno, `c${i}`);
  const last = writeRecord(primary.node, 'last', 'written');
  await network.waitFor(() => primary.node.status(last) === 'Committed' && primary.node.snapshots.latestCommittedName() !== undefined);
  const snapshot = primary.node.snapshots.loadLatest(network.service.certPem, new LedgerSecrets([{ fromSeqno: 1, key: network.ledgerKey }]))!;
  const at = snapshot.txId.seqno;
  assert.ok(at < last.seqno, `the snapshot (${at}) is from before the last write (${last.seqno})`);
  const expected = counterAt.get(Math.max(...[...counterAt.keys()].filter((seqno) => seqno <= at)));
  const records = snapshot.maps.find((map) => map.name === 'records')!.entries;
  const valueOf = (key: string) => records.find((entry) => fromUtf8(entry.key) === key)?.value;
  assert.equal(fromUtf8(valueOf('counter')!), expected);
  assert.equal(valueOf('last'), undefined);
  assert.ok(snapshot.evidenceTxId.seqno > last.seqno, 'the evidence follows the writes made while the snapshot was written');
});

test('a joiner dials the nodes it learnt of when it joined before it hears from any primary, so a primary that lost its lease can reach it for a vote', async (t) => {
  const network = await InProcessNetwork.start(1);
  t.after(() => network.close());
  const first = network.nodes[0]!;
  const joiner = network.create('n1', { kind: 'join' }, new Map([[first.node.nodeId, 'n0']]));
  assert.deepEqual([...joiner.peers], [[first.node.nodeId, 'n0']]);
  const alone = network.create('n2', { kind: 'join' });
  assert.deepEqual([...alone.peers], [], 'a joiner told of no node dials none');
});
