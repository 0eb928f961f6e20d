// The genesis transaction of a new service, with CCF's tables and encodings: the service identity
// (status Opening), its configuration, the initial members (Accepted until they ack), this node
// (Trusted) with its endorsed certificate, and the constitution; and what the adapters on top of
// the node record for the whole service (the Ethereum chain's settings), so that every node that
// holds the service's state holds them.

import { utf8 } from '../crypto/bytes.js';
import { certificateId } from '../crypto/entity-id.js';
import { NO_COSE_SIGNATURE_CLAIMS, writeCoseSignatureClaims, type CoseSignatureClaims } from './cose-signature-claims.js';
import { encodeJson, SINGLETON, Tables, type MemberInfo, type NodeInfo, type ServiceConfig, type ServiceInfo } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { parseVirtualQuote } from '../attestation/virtual-attestation.js';

export interface GenesisMember {
  certPem: string;
  encryptionPublicKeyPem: string | undefined;
  memberData: unknown;
}

export interface GenesisInput {
  txId: TxId;
  serviceCertPem: string;
  serviceData: unknown;
  recoveryThreshold: number;
  /** CCF's other service configuration settings at genesis; CCF's defaults where absent. */
  configuration?: GenesisServiceConfiguration;
  members: GenesisMember[];
  constitution: string;
  nodeId: string;
  nodeInfo: NodeInfo;
  endorsedNodeCertPem: string;
  /** Writes of the layers above the node, in this transaction (their own tables). */
  adapterWrites?: (tx: Transaction) => void;
  /** CCF's `cose_signatures` of the start command; empty issuer and subject when absent. */
  coseSignatures?: CoseSignatureClaims;
}

export interface GenesisServiceConfiguration {
  maximum_node_certificate_validity_days?: number;
  maximum_service_certificate_validity_days?: number;
  recent_cose_proposals_window_size?: number;
}

/** CCF's maxima for certificate validity and its window of recent proposals (replay protection). */
export const CERTIFICATE_VALIDITY_DAYS_MAX = 365;
export const RECENT_COSE_PROPOSALS_WINDOW_DEFAULT = 100;

export function writeGenesis(tx: Transaction, input: GenesisInput): void {
  const recoveryMembers = input.members.filter((m) => m.encryptionPublicKeyPem !== undefined).length;
  const serviceInfo: ServiceInfo = {
    cert: input.serviceCertPem,
    current_service_create_txid: formatTxId(input.txId),
    recovery_count: 0,
    service_data: input.serviceData,
    status: 'Opening',
  };
  tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson(serviceInfo));
  const config: ServiceConfig = {
    maximum_node_certificate_validity_days: CERTIFICATE_VALIDITY_DAYS_MAX,
    maximum_service_certificate_validity_days: CERTIFICATE_VALIDITY_DAYS_MAX,
    recent_cose_proposals_window_size: RECENT_COSE_PROPOSALS_WINDOW_DEFAULT,
    ...input.configuration,
    // As in CCF, 0 means "every recovery member".
    recovery_threshold: input.recoveryThreshold === 0 ? recoveryMembers : input.recoveryThreshold,
  };
  tx.map(Tables.serviceConfig).set(SINGLETON, encodeJson(config));
  writeCoseSignatureClaims(tx, input.coseSignatures ?? NO_COSE_SIGNATURE_CLAIMS);
  for (const member of input.members) {
    const id = utf8(certificateId(member.certPem));
    tx.map(Tables.membersCerts).set(id, utf8(member.certPem));
    const info: MemberInfo = { status: 'Accepted', ...(member.memberData === undefined ? {} : { member_data: member.memberData }) };
    tx.map(Tables.membersInfo).set(id, encodeJson(info));
    tx.map(Tables.membersAcks).set(id, encodeJson({ state_digest: '' }));
    if (member.encryptionPublicKeyPem !== undefined) tx.map(Tables.membersEncryptionPublicKeys).set(id, utf8(member.encryptionPublicKeyPem));
  }
  addFirstNode(tx, input);
  tx.map(Tables.constitution).set(SINGLETON, encodeJson(input.constitution));
  input.adapterWrites?.(tx);
}

/**
 * The node that starts (or recovers) a service: Trusted, with its endorsed certificate; as in CCF,
 * it trusts its own measurement and host data.
 */
export function addFirstNode(tx: Transaction, node: Pick<GenesisInput, 'nodeId' | 'nodeInfo' | 'endorsedNodeCertPem'>): void {
  tx.map(Tables.nodesInfo).set(utf8(node.nodeId), encodeJson(node.nodeInfo));
  tx.map(Tables.nodesEndorsedCertificates).set(utf8(node.nodeId), utf8(node.endorsedNodeCertPem));
  const evidence = parseVirtualQuote(node.nodeInfo.quote_info);
  tx.map(Tables.virtualMeasurements).set(utf8(evidence.measurement), encodeJson('AllowedToJoin'));
  tx.map(Tables.virtualHostData).set(utf8(evidence.host_data), encodeJson(''));
}
