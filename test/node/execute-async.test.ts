// Asynchronous transactions (the EVM's API is asynchronous): while one awaits, others commit; a
// conflict on what it read runs it again, so concurrent read-modify-writes all count.

import assert from 'node:assert/strict';
import test from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import type { Transaction } from '../../src/kv/transaction.js';
import { startInProcessNode } from '../support/in-process-node.js';

const KEY = utf8('counter');

function readCounter(tx: Transaction): number {
  const value = tx.map('counters').get(KEY);
  return value === undefined ? 0 : Number(fromUtf8(value));
}

test('concurrent asynchronous read-modify-writes are serialized: every increment counts', async (t) => {
  const instance = startInProcessNode();
  t.after(() => instance.close());
  const { node } = instance;
  let runs = 0;
  const increment = () =>
    node.executeAsync(async (tx) => {
      runs += 1;
      const current = readCounter(tx);
      // Another transaction commits while this one awaits.
      await new Promise((resolve) => setImmediate(resolve));
      tx.map('counters').set(KEY, utf8(String(current + 1)));
      return { result: current + 1, applyWrites: true };
    });
  const results = await Promise.all(Array.from({ length: 5 }, increment));
  assert.deepEqual([...results.map((r) => r.result)].sort(), [1, 2, 3, 4, 5]);
  assert.ok(runs > 5, 'conflicting runs were repeated');
  assert.equal(node.execute((tx) => ({ result: readCounter(tx), applyWrites: false })).result, 5);
  // Each committed at its own seqno.
  assert.equal(new Set(results.map((r) => r.txId!.seqno)).size, 5);
});

test('an asynchronous handler that throws or declines to write commits nothing', async (t) => {
  const instance = startInProcessNode();
  t.after(() => instance.close());
  const { node } = instance;
  const before = node.lastTxId;
  await assert.rejects(node.executeAsync(async (tx) => {
    tx.map('counters').set(KEY, utf8('9'));
    throw new Error('handler failed');
  }), /handler failed/);
  const declined = await node.executeAsync(async (tx) => {
    tx.map('counters').set(KEY, utf8('9'));
    return { result: 'no', applyWrites: false };
  });
  assert.equal(declined.txId, undefined);
  assert.deepEqual(node.lastTxId, before);
  assert.equal(node.execute((tx) => ({ result: readCounter(tx), applyWrites: false })).result, 0);
});
