// Restarts a node of an in-process network in place, as `coco node` restarts one: from its latest
// committed snapshot and the ledger after it, with the same identity, directories and transport.

import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import { Node, type NodeOptions } from '../../src/node/node.js';
import type { InProcessNetwork, NetworkNode } from './in-process-network.js';

/** Stops `member` and starts it again from its latest committed snapshot; `options` changes what the new Node gets. */
export async function restartFromSnapshot(network: InProcessNetwork, member: NetworkNode, options: Partial<NodeOptions> = {}): Promise<void> {
  const previous = member.node.options;
  await member.node.stop();
  const secrets = new LedgerSecrets(previous.ledgerSecrets.all());
  const snapshot = member.node.snapshots.loadLatest(network.service.certPem, secrets);
  if (snapshot === undefined) throw new Error(`${member.name} has no committed snapshot to restart from`);
  const replayed = replayLedger(member.ledgerDirectory, { nodeId: member.node.nodeId, encryptionPrivateKeyPem: undefined, secrets }, network.service.certPem, snapshot);
  member.node = new Node({ ...previous, ledgerSecrets: secrets, start: { kind: 'resume', replayed }, ...options });
}
