// The first transaction of a service recovered from a previous service's ledger (CCF's recovery
// `create`): the service, under the recovering node's new identity, becomes Recovering, one more
// recovery counted; the previous identity and the Merkle root of its last signature are recorded
// (the endorsement of the previous identity, once the service opens, covers up to there); every
// node of the previous service is retired, and the recovering node is Trusted. Members, users,
// the constitution and the configuration stay as the ledger has them.

import { utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { decodeJson, encodeJson, readServiceInfo, SINGLETON, Tables, type NodeInfo, type ServiceInfo } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { SIGNATURES_MAP, type PrimarySignature } from '../ledger/signature.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { addFirstNode } from './genesis.js';
import { nodeRecords } from './service-nodes.js';

/** CCF's record of the previous service's last signed Merkle root (a JSON string of hex). */
export const PREVIOUS_SERVICE_LAST_SIGNED_ROOT_MAP = 'public:ccf.internal.previous_service_last_signed_root';

export interface RecoveryCreateInput {
  txId: TxId;
  serviceCertPem: string;
  nodeId: string;
  nodeInfo: NodeInfo;
  endorsedNodeCertPem: string;
}

export function writeRecoveryCreate(tx: Transaction, input: RecoveryCreateInput): void {
  const previous = readServiceInfo(tx);
  if (previous === undefined) throw new CocoError('LedgerRefused', 'the ledger holds no service: there is nothing to recover');
  const signature = tx.map(SIGNATURES_MAP).get(SINGLETON);
  if (signature === undefined) throw new CocoError('LedgerRefused', "the previous service doesn't have any signed transactions: there is nothing to recover");
  tx.map(Tables.previousServiceIdentity).set(SINGLETON, encodeJson(previous.cert));
  tx.map(PREVIOUS_SERVICE_LAST_SIGNED_ROOT_MAP).set(SINGLETON, encodeJson(decodeJson<PrimarySignature>(signature, SIGNATURES_MAP).root));
  const previousVersion = tx.map(Tables.serviceInfo).getVersionOfPreviousWrite(SINGLETON);
  const info: ServiceInfo = {
    cert: input.serviceCertPem,
    status: 'Recovering',
    ...(previousVersion !== undefined && { previous_service_identity_version: Number(previousVersion) }),
    recovery_count: (previous.recovery_count ?? 0) + 1,
    service_data: previous.service_data,
    current_service_create_txid: formatTxId(input.txId),
  };
  tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson(info));
  for (const [id, node] of nodeRecords(tx)) {
    if (node.status !== 'Retired') tx.map(Tables.nodesInfo).set(utf8(id), encodeJson({ ...node, status: 'Retired' }));
  }
  addFirstNode(tx, input);
}
