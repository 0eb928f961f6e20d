// Whether a node retired from the service, as what it keeps on disk says: its own ledger records its
// removal as committed, or the service told it so before it stopped (retirement-marker-file.ts).
// Retirement is final: a node whose removal committed never takes part again (in CCF it cannot even
// restart), so a restart of such a node is refused, and a node in this process starts retired.

import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { commitMarkerPath, readCommitMarker, restartCommitSeqno } from './commit-marker-file.js';
import type { ReplayedLedger } from './ledger-replay.js';
import { readRetirementMarker, retirementMarkerPath } from './retirement-marker-file.js';
import { readNodeRecords } from './service-nodes.js';

export interface Retirement {
  /**
   * The transaction whose configuration left this node out, where its ledger holds it; for a node
   * started from a snapshot taken after it, that snapshot's.
   */
  txId: TxId | undefined;
  /** Whether `txId` is the snapshot's: the removal itself is before it. */
  bySnapshot: boolean;
  /** How the node knows its removal committed when its ledger's commit does not show it: what the service told it. */
  learntFrom: string | undefined;
}

type RetirementEvidence = Pick<ReplayedLedger, 'baseConfiguration' | 'entries' | 'snapshot' | 'store'>;

/**
 * Where the ledger removes the node, committed or not: the configuration entry that follows the last
 * one holding it; for a node started from a snapshot, in which no configuration holds it and its
 * record is Retired, that snapshot. Undefined for a node still in the configuration, or a joiner in
 * none yet.
 */
function ledgerRemoval(nodeId: string, ledger: RetirementEvidence): { txId: TxId; bySnapshot: boolean } | undefined {
  let held = ledger.baseConfiguration.includes(nodeId);
  let removal: TxId | undefined;
  for (const entry of ledger.entries) {
    if (entry.configuration === undefined) continue;
    if (entry.configuration.includes(nodeId)) {
      held = true;
      removal = undefined;
    } else if (held && removal === undefined) {
      removal = { view: entry.view, seqno: entry.seqno };
    }
  }
  if (removal !== undefined) return { txId: removal, bySnapshot: false };
  const snapshot = ledger.snapshot;
  if (held || snapshot === undefined || readNodeRecords(ledger.store).get(nodeId)?.status !== 'Retired') return undefined;
  return { txId: snapshot.txId, bySnapshot: true };
}

/**
 * This node's retirement: its ledger's removal of it, committed by `commitSeqno` (so no active
 * configuration holds it, as consensus counts it retired), or the retirement the service told it of,
 * recorded at `markerPath`. Undefined when neither says it retired.
 */
export function retirementOf(nodeId: string, ledger: RetirementEvidence, commitSeqno: number, markerPath: string): Retirement | undefined {
  const removal = ledgerRemoval(nodeId, ledger);
  if (removal !== undefined && (removal.bySnapshot || removal.txId.seqno <= commitSeqno)) return { ...removal, learntFrom: undefined };
  const marker = readRetirementMarker(markerPath);
  if (marker?.nodeId !== nodeId) return undefined;
  return { txId: removal?.txId, bySnapshot: removal?.bySnapshot ?? false, learntFrom: marker.learntFrom };
}

/** `retirementOf` at a restart: with the commit the restart takes (the ledger's, or the commit marker's) and the marker, both beside `consensusStateFile`. */
export function retirementAtRestart(nodeId: string, ledger: RetirementEvidence & Pick<ReplayedLedger, 'committedSeqno'>, consensusStateFile: string): Retirement | undefined {
  const commitSeqno = restartCommitSeqno(ledger.committedSeqno, readCommitMarker(commitMarkerPath(consensusStateFile)), ledger.entries);
  return retirementOf(nodeId, ledger, commitSeqno, retirementMarkerPath(consensusStateFile));
}

/**
 * A retirement for the log and errors, after "this node retired from the service": " at 2.31", or
 * " before 5.1200 (the snapshot it started from records it Retired)"; then how it is known.
 */
export function describeRetirement(retirement: Retirement): string {
  const { txId, bySnapshot, learntFrom } = retirement;
  const where = txId === undefined ? '' : bySnapshot ? ` before ${formatTxId(txId)} (the snapshot it started from records it Retired)` : ` at ${formatTxId(txId)}`;
  const known = learntFrom === undefined ? 'its own ledger records its removal, committed' : `the service told it its removal committed before it stopped (${learntFrom})`;
  return `${where}: ${known}`;
}
