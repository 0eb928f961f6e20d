// GET /node/consensus as CCF's `get_details` fills it, on nodes replicating in one process: every
// node lists the other nodes of its configurations under `acks` (what they acknowledged is known on
// the primary only), and a node is Retired, with CCF's `retirement_phase`, from the moment its log
// holds a configuration without it, not only once it takes no further part.

import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { encodeJson, Tables } from '../../src/governance/builtin-tables.js';
import type { Node } from '../../src/node/node.js';
import { readNodeRecords } from '../../src/node/service-nodes.js';
import { consensusDetails } from '../../src/rpc/builtin-endpoints.js';
import { InProcessNetwork } from '../support/in-process-network.js';

interface Details {
  acks: Record<string, { seqno: number; last_received_ms: number }>;
  membership_state: string;
  retirement_phase?: string;
}

const details = (node: Node) => consensusDetails(node) as unknown as Details;

/** What remove_node writes: the node's record goes Retired (the configuration without it follows). */
function removeNode(primary: Node, id: string): void {
  primary.execute((tx) => {
    tx.map(Tables.nodesInfo).set(utf8(id), encodeJson({ ...readNodeRecords(primary.store).get(id)!, status: 'Retired' }));
    return { result: undefined, applyWrites: true };
  });
}

test('backups list the other nodes of their configurations under acks, as CCF fills them on every node', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary().node;
  const ids = network.nodes.map(({ node }) => node.nodeId);
  await network.waitFor(() => Object.keys(details(primary).acks).length === 2);
  for (const { node } of network.nodes) {
    const acks = details(node).acks;
    assert.deepEqual(Object.keys(acks).sort(), ids.filter((id) => id !== node.nodeId).sort(), node.nodeId);
    if (node !== primary) for (const ack of Object.values(acks)) assert.deepEqual(ack, { seqno: 0, last_received_ms: 0 }, 'a backup knows no progress');
  }
  assert.deepEqual([details(primary).membership_state, details(primary).retirement_phase], ['Active', undefined]);
});

test('a removed node is Retired with its retirement phase from the moment its log holds the configuration without it', async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary();
  const backup = network.nodes.find((n) => n !== primary)!;
  removeNode(primary.node, backup.node.nodeId);
  // The backup gets the configuration without it, and the signature after it unless the other
  // backup's ack committed that first; never the commit: the primary no longer replicates to it once
  // that committed.
  await network.waitFor(() => ['Ordered', 'Signed'].includes(details(backup.node).retirement_phase ?? ''));
  assert.equal(details(backup.node).membership_state, 'Retired');
  assert.equal(backup.node.stopNotice, false, 'it has yet to learn that its retirement committed');

  // A primary removed sees its removal commit, and takes no further part once it handed over.
  const successor = network.nodes.find((n) => n !== primary && n !== backup)!;
  await network.waitFor(() => successor.node.configurations.length === 1 && !successor.node.configurations[0]!.includes(backup.node.nodeId));
  removeNode(primary.node, primary.node.nodeId);
  await network.waitFor(() => primary.node.stopNotice);
  assert.deepEqual([details(primary.node).membership_state, details(primary.node).retirement_phase], ['Retired', 'RetiredCommitted']);
  assert.deepEqual([details(successor.node).membership_state, details(successor.node).retirement_phase], ['Active', undefined]);
});
