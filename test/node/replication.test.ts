// Nodes replicating in one process (real ledgers on disk, the channel codec on every message):
// backups hold what the primary committed and give receipts for it; a primary cut off from the
// others loses its uncommitted writes when it comes back (store, ledger files and statuses rolled
// back); a transaction too large to replicate is refused without a trace.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { LedgerVerifier } from '../../src/ledger/ledger-verifier.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import type { Node } from '../../src/node/node.js';
import { InProcessNetwork } from '../support/in-process-network.js';

function write(node: Node, key: string, value: string | Uint8Array): TxId {
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8(key), typeof value === 'string' ? utf8(value) : value);
    return { result: undefined, applyWrites: true };
  });
  return txId!;
}

function read(node: Node, key: string): string | undefined {
  return node.execute((tx) => {
    const value = tx.map('records').get(utf8(key));
    return { result: value && fromUtf8(value), applyWrites: false };
  }).result;
}

function verifyLedgerDirectory(directory: string, serviceCertPem: string) {
  const verifier = new LedgerVerifier({ trustedServiceCertPem: serviceCertPem });
  for (const name of readdirSync(directory).sort()) verifier.addChunk(name, new Uint8Array(readFileSync(join(directory, name))));
  return verifier.finish();
}

test('backups apply what the primary commits, answer its status and give receipts that verify', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary().node;
  const txId = write(primary, 'k', 'v');
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(txId) === 'Committed'));
  for (const { node } of network.nodes) {
    assert.equal(read(node, 'k'), 'v');
    assert.equal(verifyReceipt(node.receipt(txId), network.service.certPem, { at: new Date() }).txId, `${txId.view}.${txId.seqno}`);
  }
  const backup = network.nodes.find(({ node }) => !node.isPrimary)!.node;
  assert.throws(() => write(backup, 'k', 'w'), (e: unknown) => e instanceof CocoError && e.code === 'NotPrimary');
});

test('a primary cut off from the others loses its uncommitted writes when it returns, everywhere', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const old = network.primary();
  network.isolate(old.name);
  const lost = write(old.node, 'lost', 'never committed');
  await network.waitFor(() => network.nodes.some((n) => n !== old && n.node.isPrimary));
  const next = network.nodes.find((n) => n !== old && n.node.isPrimary)!;
  assert.ok(next.node.role.view > lost.view, 'a new primary in a later view');
  const kept = write(next.node, 'kept', 'committed');
  await network.waitFor(() => next.node.status(kept) === 'Committed');
  assert.equal(old.node.status(lost), 'Pending', 'cut off, the old primary cannot commit');

  network.isolate(old.name, false);
  await network.waitFor(() => old.node.status(kept) === 'Committed');
  assert.equal(old.node.isPrimary, false);
  for (const { node } of network.nodes) {
    assert.equal(node.status(lost), 'Invalid');
    assert.equal(read(node, 'lost'), undefined, 'the rolled-back write is gone from the store');
    assert.equal(read(node, 'kept'), 'committed');
  }
  // The old primary's ledger files were cut back and continued: they verify, and hold the new view.
  const summary = verifyLedgerDirectory(old.ledgerDirectory, network.service.certPem);
  assert.ok(summary.lastVerifiedTxId!.seqno >= kept.seqno);
  assert.ok(summary.lastVerifiedTxId!.view > lost.view);
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
  assert.equal(read(node, 'a'), undefined);
  const next = write(node, 'small', 'fits');
  assert.equal(next.seqno, before.seqno + 1, 'the refused transaction took no seqno');
  await network.waitFor(() => node.status(next) === 'Committed');
});
