// Receipts of transactions older than what a node keeps in memory: read back from its ledger files
// (202 until then, as CCF's historical queries answer), identical to the ones built from memory,
// verified offline; and refused when the ledger file was altered.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { verifyCoseReceipt } from '../../src/ledger/cose-receipt.js';
import { verifyReceipt, type Receipt } from '../../src/ledger/receipt.js';
import { formatTxId, type TxId } from '../../src/ledger/tx-id.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { decodeEntry } from '../../src/ledger/entry.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import type { EntryReadBack } from '../../src/node/entry-read-back.js';
import type { Node } from '../../src/node/node.js';
import { CoverageFromLedger, receiptOf } from '../../src/node/receipt-coverage.js';
import { signatureRecordOf } from '../../src/node/signature-record.js';
import { asRpcError } from '../../src/rpc/rpc-error.js';
import { writeRecord } from '../support/records.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { notCached, onceRead } from '../support/read-back.js';

const receiptOnceRead = (node: Node, txId: TxId): Promise<Receipt> => onceRead(() => node.receipt(txId));

async function writeAndCommit(node: Node, count: number): Promise<TxId[]> {
  const written: TxId[] = [];
  for (let i = 0; i < count; i++) written.push(writeRecord(node, `k${i}`, `v${i}`));
  await node.waitForCommit(written.at(-1)!.seqno);
  return written;
}

test('a node builds the same receipts from its ledger files as from memory, for any committed transaction', async (t) => {
  const reference = startInProcessNode({ signatureTxCount: 5 });
  const flushing = startInProcessNode({ signatureTxCount: 5, receiptsInMemory: 0 });
  t.after(() => Promise.all([reference.close(), flushing.close()]));
  const written = await writeAndCommit(flushing.node, 40);
  await writeAndCommit(reference.node, 40);
  const serviceCertPem = flushing.node.options.service.certPem;

  const old = written[3]!;
  assert.throws(() => flushing.node.receipt(old), notCached, 'the first request starts reading it');
  const error = asRpcError(new CocoError('TransactionNotCached', 'reading'));
  assert.deepEqual([error.status, error.headers], [202, { 'retry-after': '1' }], 'answered 202 with Retry-After, as CCF\'s historical queries are');
  const receipt = await receiptOnceRead(flushing.node, old);
  assert.equal(verifyReceipt(receipt, serviceCertPem, { at: new Date() }).txId, formatTxId(old));
  // Same shape as a receipt from memory: the same number of proof steps at the same position.
  assert.equal((receipt as { proof: unknown[] }).proof.length, (reference.node.receipt(old) as { proof: unknown[] }).proof.length);
  assert.equal(verifyCoseReceipt(flushing.node.coseReceipt(old), serviceCertPem).txId, formatTxId(old), 'the COSE receipt too, from the same read');

  // Every committed transaction, signatures included (their receipts name no TxID), old or recent.
  let signatures = 0;
  for (let seqno = 1; seqno <= flushing.node.commitTxId.seqno; seqno++) {
    const txId = { view: flushing.node.viewOf(seqno), seqno };
    const verified = verifyReceipt(await receiptOnceRead(flushing.node, txId), serviceCertPem, { at: new Date() });
    if (verified.txId === undefined) signatures++;
    else assert.equal(verified.txId, formatTxId(txId));
  }
  assert.ok(signatures >= 8, `${signatures} signature receipts among them`);
});

test('a historical query for an old transaction reads its entry and receipt back from the ledger', async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 5, receiptsInMemory: 0 });
  t.after(close);
  const written = await writeAndCommit(node, 30);
  const old = written[2]!;
  const state = await onceRead(() => node.historical.get(old));
  assert.equal(verifyReceipt(state.receipt, node.options.service.certPem, { at: new Date() }).txId, formatTxId(old));
});

test('an old receipt from an altered ledger file is refused on every request, naming the file and the seqno', async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 5, receiptsInMemory: 0 });
  t.after(close);
  const written = await writeAndCommit(node, 30);
  const old = written[2]!;
  const file = listChunkFiles(node.options.ledgerDirectory).find((f) => f.chunk.first <= old.seqno && old.seqno <= (f.chunk.last ?? Infinity))!;
  const bytes = new Uint8Array(readFileSync(file.path));
  // Flip a byte near the end of the entry (its write set), which its Merkle leaf covers.
  const { offsets } = decodeChunk(bytes, file.name);
  const index = old.seqno - file.chunk.first;
  const at = offsets[index + 1]! - 3;
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(file.path, bytes);
  assert.throws(() => node.receipt(old), notCached);
  const malformed = (error: unknown) => error instanceof CocoError && error.code === 'LedgerEntryMalformed' && error.message.startsWith(`${file.name} at seqno ${old.seqno}: `);
  await assert.rejects(onceRead(() => node.receipt(old)), malformed);
  // Every later request is told the same at once (500, the code named), never to come back: no receipt from an altered file.
  for (let i = 0; i < 3; i++) assert.throws(() => node.receipt(old), (error: unknown) => malformed(error) && asRpcError(error).status === 500);
});

test('a signature entry is read and checked once for all the transactions it covers, not once per transaction', async (t) => {
  const { node, close } = startInProcessNode({ signatureTxCount: 20, receiptsInMemory: 0 });
  t.after(close);
  await writeAndCommit(node, 60);
  const internals = node as unknown as { files: { readEntry(seqno: number): Promise<EntryReadBack> }; writer: { commitEvidenceFor(txId: TxId): string } };
  const reads = new Map<number, number>();
  const coverage = new CoverageFromLedger({
    readEntry: (seqno) => {
      reads.set(seqno, (reads.get(seqno) ?? 0) + 1);
      return internals.files.readEntry(seqno);
    },
    readCommittedFrom: () => assert.fail('every signature seqno is given'),
    committedChunkHolding: () => assert.fail('every signature seqno is given'),
    commitEvidenceFor: (txId) => internals.writer.commitEvidenceFor(txId),
    serviceCertPem: node.options.service.certPem,
    endorsementsFor: async () => [],
    mayHold: () => true,
  });
  const committed = node.commitTxId.seqno;
  const signatures: number[] = [];
  for (let seqno = 1; seqno <= committed; seqno++) {
    const { entry } = decodeEntry((await internals.files.readEntry(seqno)).bytes);
    if (signatureRecordOf(seqno, entry.publicMaps) !== undefined) signatures.push(seqno);
  }
  const covered = (seqno: number) => signatures.find((signature) => signature >= seqno)!;
  assert.ok(signatures.length >= 3 && signatures.some((s, i) => i > 0 && s - signatures[i - 1]! > 10), `signatures at ${signatures.join(', ')}, over many transactions each`);
  // Every transaction at once, as a range asks for them.
  const txIds = Array.from({ length: signatures.at(-1)! }, (_, i) => ({ view: node.viewOf(i + 1), seqno: i + 1 }));
  const coverages = await Promise.all(txIds.map((txId) => onceRead(() => coverage.get(txId, covered(txId.seqno)))));
  for (const [i, txId] of txIds.entries()) {
    const verified = verifyReceipt(receiptOf(coverages[i]!, []), node.options.service.certPem, { at: new Date() });
    assert.ok(verified.txId === undefined || verified.txId === formatTxId(txId), `the receipt of ${formatTxId(txId)}`);
  }
  // Once as the signature over the others, once as a transaction of the range itself.
  for (const signature of signatures) assert.equal(reads.get(signature), 2, `the signature entry at ${signature} is read once for all it covers`);
});
