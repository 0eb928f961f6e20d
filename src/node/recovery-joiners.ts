// CCF trusts a node that asks to join a recovered service while it is Recovering at once: it becomes
// a node of the public network and follows the recovery. A Coco joiner cannot follow it (the previous
// service's secrets exist only once members' shares restore them), so it is recorded Pending and is
// trusted on its first request once the service is open, in that request's transaction, which answers
// it with the secrets: it is never a voter without them (one that cannot join would block every
// election). One that asks once members passed transition_service_to_open stays Pending for them, as
// in CCF.

import { utf8 } from '../crypto/bytes.js';
import { readServiceInfo, SINGLETON, Tables } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { parseTxId } from '../ledger/tx-id.js';

/**
 * Whether node `nodeId` was recorded while the current (recovered) service was Recovering: after its
 * recovery transaction, before the members' transition to WaitingForRecoveryShares (which writes
 * the last recovery's type).
 */
export function askedWhileRecovering(tx: Transaction, nodeId: string): boolean {
  const created = readServiceInfo(tx)?.current_service_create_txid;
  const waitingSince = tx.map(Tables.lastRecoveryType).getVersionOfPreviousWrite(SINGLETON);
  const recordedAt = tx.map(Tables.nodesInfo).getVersionOfPreviousWrite(utf8(nodeId));
  if (created === undefined || waitingSince === undefined || recordedAt === undefined) return false;
  return BigInt(parseTxId(created).seqno) < recordedAt && recordedAt < waitingSince;
}
