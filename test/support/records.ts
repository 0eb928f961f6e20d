// One write or read of the private `records` map on a node, each in a transaction of its own: what
// the node-layer tests replicate, roll back and rekey.

import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import type { Node } from '../../src/node/node.js';

export function writeRecord(node: Node, key: string, value: string | Uint8Array): TxId {
  const { txId } = node.execute((tx) => {
    tx.map('records').set(utf8(key), typeof value === 'string' ? utf8(value) : value);
    return { result: undefined, applyWrites: true };
  });
  return txId!;
}

export function readRecord(node: Node, key: string): string | undefined {
  return node.execute((tx) => {
    const value = tx.map('records').get(utf8(key));
    return { result: value && fromUtf8(value), applyWrites: false };
  }).result;
}
