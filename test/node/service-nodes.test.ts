// Node records are decoded once per write: every change to the nodes table and every node-to-node
// connection reads all of them, and a service holding many (Pending ones anyone can record, each
// with up to 64 KiB of node_data) decoded them all each time, slowing every node to elections.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { readNodeRecords } from '../../src/node/service-nodes.js';
import { startInProcessNode } from '../support/in-process-node.js';

test('a node record is decoded again only once a write replaces it', async (t) => {
  const { node, close } = startInProcessNode({});
  t.after(close);
  const [id, first] = [...readNodeRecords(node.store)][0]!;
  const before = structuredClone(first);
  assert.equal(readNodeRecords(node.store).get(id), first, 'the same record, not decoded again');
  node.execute((tx) => {
    tx.map(Tables.nodesInfo).set(utf8(id), utf8(JSON.stringify({ ...first, node_data: { label: 'renamed' } })));
    return { result: undefined, applyWrites: true };
  });
  const rewritten = readNodeRecords(node.store).get(id)!;
  assert.notEqual(rewritten, first);
  assert.deepEqual(rewritten.node_data, { label: 'renamed' });
  assert.deepEqual(first, before, 'the record read before the write is left as it was');
});
