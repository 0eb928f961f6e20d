// A restarting node's state checked against its commit marker (commit-marker-file.ts): a node whose
// ledger now ends before the commit it knew has lost entries it may have acknowledged to a primary
// as durable (ledger.directory pointing elsewhere, an older copy restored). Raft's safety rests on a
// node never voting for a candidate that lacks what it acknowledged, so such a node does not start.

import { CocoError } from '../errors.js';
import { commitMarkerPath, readCommitMarker } from './commit-marker-file.js';
import { listChunkFiles } from './ledger-directory.js';
import type { NodeConfig } from './node-config.js';

/** What a restarting node holds: its state ends at `lastSeqno` (its ledger's last signature, else its snapshot's seqno, else 0). */
export interface HeldState {
  lastSeqno: number;
  snapshot?: { name: string; seqno: number };
}

type MarkerCheckConfig = Pick<NodeConfig, 'consensusStateFile' | 'ledgerDirectory' | 'ledgerReadOnlyDirectories' | 'sealedSecretsFile'>;

/**
 * Refuses a start whose state ends before the commit its marker names. One shortfall is the node's
 * own, and allowed: a follower's commit can run ahead of the entries it has written (they wait in
 * memory for the next write, and it acknowledges only what it made durable), so a node killed then
 * lacks entries it never acknowledged. Those lie in its open chunk (`ledger_<first>`, no last seqno
 * in the name), whose file exists from its first entry on; a torn tail the restart cuts is there too.
 */
export function refuseIfBehindCommitMarker(config: MarkerCheckConfig, nodeId: string, held: HeldState): void {
  const markerPath = commitMarkerPath(config.consensusStateFile);
  const marker = readCommitMarker(markerPath);
  if (marker === undefined || marker.seqno <= held.lastSeqno) return;
  const chunks = listChunkFiles(config.ledgerDirectory, { allowEmpty: true });
  const last = chunks.at(-1);
  if (last !== undefined && last.chunk.last === undefined && last.chunk.first <= marker.seqno) return;
  const holds = [
    ...(held.snapshot === undefined ? [] : [`snapshot ${held.snapshot.name} (seqno ${held.snapshot.seqno})`]),
    chunks.length === 0 ? `no ledger chunk in ${config.ledgerDirectory} (ledger.directory)` : `chunks ${chunks[0]!.name} to ${last!.name} in ${config.ledgerDirectory} (ledger.directory)`,
    ...(config.ledgerReadOnlyDirectories.length === 0 ? [] : [`the committed chunks it lacks from ${config.ledgerReadOnlyDirectories.join(', ')} (ledger.read_only_directories)`]),
  ];
  throw new CocoError(
    'LedgerBehindCommitMarker',
    `this node's commit marker ${markerPath} says it committed up to seqno ${marker.seqno}, but what it holds ends at seqno ${held.lastSeqno}: ${holds.join(', ')}. ` +
      `It may have acknowledged the entries up to seqno ${marker.seqno} to the primary as durable: without them it could vote for a primary that lacks them, and a committed transaction could be lost. ` +
      'If ledger.directory or ledger.read_only_directories do not name where this node wrote its ledger, correct them and start it again; ' +
      `to start this host afresh instead, move aside ${config.sealedSecretsFile}, its ledger and snapshot directories and the consensus state files beside ${config.consensusStateFile} (this marker among them), ` +
      `join the service as a new node (command.type "Join") and have members remove this one (remove_node ${nodeId})`,
  );
}
