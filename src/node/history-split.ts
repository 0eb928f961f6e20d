// What a node says when consensus finds that the service's nodes hold two committed histories (see
// HistorySplit in consensus/raft-node.ts): the error that stops a node holding the history its
// primary does not have, and the line a primary logs about a follower that acknowledges past its log.

import type { FollowerPastLogEnd, HistorySplit } from '../consensus/raft-node.js';
import { CocoError } from '../errors.js';
import { formatTxId } from '../ledger/tx-id.js';

const BACKUPS_DOCS = 'docs/node-config.md, "Backups"';

/** Stops the node: it must not serve committed transactions its service's primary does not hold. */
export function historySplitError(split: HistorySplit): CocoError {
  return new CocoError(
    'HistorySplit',
    `history split: the primary, node ${split.leader.slice(0, 12)} in view ${split.view}, holds ${formatTxId({ view: split.leaderView, seqno: split.seqno })} where this node committed ${formatTxId({ view: split.localView, seqno: split.seqno })} ` +
      `(this node's commit: ${formatTxId({ view: split.commitView, seqno: split.commitSeqno })}), so the nodes of this service hold two committed histories, as after a restore from copies taken at different points. ` +
      `This node stops rather than serve transactions the primary's history does not hold. To go on with the primary's history, join a new node in place of this one and remove this one, ` +
      `or give this node the primary's committed ledger chunks in place of its ledger and no snapshot; to keep this node's history instead, stop every node and restore them all with this node's committed chunks (${BACKUPS_DOCS})`,
  );
}

export function pastLogEndLine(report: FollowerPastLogEnd): string {
  return (
    `node ${report.peer.slice(0, 12)} acknowledged matching this primary's log up to seqno ${report.acknowledgedSeqno}, past its end (seqno ${report.lastSeqno}): ` +
    `it holds committed transactions this primary does not (was it restored from a newer copy than the others?), and its answers are ignored; ` +
    `see ${BACKUPS_DOCS} (logged once per view)`
  );
}
