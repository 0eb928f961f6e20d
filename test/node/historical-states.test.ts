import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { HISTORICAL_STATE_OVERHEAD_BYTES } from '../../src/node/historical-ranges.js';
import { startInProcessNode } from '../support/in-process-node.js';

function write(node: ReturnType<typeof startInProcessNode>['node'], id: number, text: string): TxId {
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8(String(id)), utf8(`private ${text}`));
    tx.map('public:records').set(utf8(String(id)), utf8(`public ${text}`));
    return { result: undefined, applyWrites: true };
  });
  return txId!;
}

test('a committed transaction is read back from the ledger files with its private writes, after one retry', async (t) => {
  const instance = startInProcessNode();
  t.after(() => instance.close());
  const { node } = instance;
  const first = write(node, 1, 'one');
  const second = write(node, 1, 'two');
  await node.waitForCommit(second.seqno);
  assert.equal(node.historical.get(first), undefined, 'the first request starts loading');
  await node.historical.settled(first);
  const state = node.historical.get(first)!;
  const tx = state.store.beginTransaction();
  assert.equal(fromUtf8(tx.map('records').get(utf8('1'))!), 'private one');
  assert.equal(fromUtf8(tx.map('public:records').get(utf8('1'))!), 'public one');
  assert.equal(tx.map('records').getVersionOfPreviousWrite(utf8('1')), BigInt(first.seqno));
  assert.equal(verifyReceipt(state.receipt, node.options.service.certPem, { at: new Date() }).txId, `${first.view}.${first.seqno}`);
});

test('historical queries refuse uncommitted transactions and detect an altered ledger file', async (t) => {
  const instance = startInProcessNode({ signatureTxCount: 1000, signatureDelayMs: 60_000 });
  t.after(() => instance.close());
  const { node } = instance;
  await node.waitForCommit(2);
  const pending = write(node, 7, 'pending');
  assert.throws(() => node.historical.get(pending), (e: unknown) => e instanceof CocoError && e.code === 'TransactionPendingOrUnknown');

  const ledger = join(instance.dir, 'ledger');
  const file = join(ledger, readdirSync(ledger)[0]!);
  const genesis = { view: 2, seqno: 1 };
  const bytes = readFileSync(file);
  bytes[bytes.indexOf('public:ccf.gov.service.info') + 3]! ^= 1;
  writeFileSync(file, bytes);
  assert.equal(node.historical.get(genesis), undefined);
  await node.historical.settled(genesis);
  assert.throws(() => node.historical.get(genesis), (e: unknown) => e instanceof CocoError && /was altered/.test(e.message));
});

test('the states cache keeps at most historicalCacheSoftLimitBytes of what its states pin, least recently used out first', async (t) => {
  const valueBytes = 100 * 1024;
  // Room for two states of one 100 KiB value each (and their overhead), not three.
  const limit = 2 * (valueBytes + HISTORICAL_STATE_OVERHEAD_BYTES) + 1024;
  const instance = startInProcessNode({ historicalCacheSoftLimitBytes: limit });
  t.after(() => instance.close());
  const { node } = instance;
  const txIds: TxId[] = [];
  for (let i = 0; i < 4; i++) {
    const { txId } = node.execute((tx) => {
      tx.map('blobs').set(utf8(String(i)), new Uint8Array(valueBytes).fill(i));
      return { result: undefined, applyWrites: true };
    });
    txIds.push(txId!);
  }
  await node.waitForCommit(txIds.at(-1)!.seqno);
  for (const txId of txIds) {
    await node.historical.loaded(txId);
    const state = node.historical.get(txId)!;
    assert.ok(state.pinnedBytes >= valueBytes + HISTORICAL_STATE_OVERHEAD_BYTES, `a state counts the value it keeps alive (${state.pinnedBytes})`);
    assert.ok(node.historical.cachedBytes <= limit, `${node.historical.cachedBytes} bytes cached`);
  }
  assert.ok(node.historical.get(txIds[3]!) !== undefined && node.historical.get(txIds[2]!) !== undefined, 'the two used last stay');
  assert.equal(node.historical.get(txIds[0]!), undefined, 'the first went to make room: asking again loads it again');
  await node.historical.settled(txIds[0]!);
  assert.equal(node.historical.get(txIds[0]!)?.store.beginTransaction().map('blobs').get(utf8('0'))?.[0], 0);
});

