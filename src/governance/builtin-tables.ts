// CCF's built-in governance tables (`public:ccf.gov.*`) and internal tables, with the key and value
// encodings CCF uses, since constitutions and apps read them directly through `ccf.kv`: IDs and
// names as raw UTF-8 keys, JSON values, PEMs as raw bytes, single-value tables under eight zero bytes.

import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { QuoteInfo, VirtualJoinPolicy } from '../attestation/virtual-attestation.js';
import type { Transaction } from '../kv/transaction.js';

export const Tables = {
  membersCerts: 'public:ccf.gov.members.certs',
  membersEncryptionPublicKeys: 'public:ccf.gov.members.encryption_public_keys',
  membersInfo: 'public:ccf.gov.members.info',
  membersAcks: 'public:ccf.gov.members.acks',
  usersCerts: 'public:ccf.gov.users.certs',
  usersInfo: 'public:ccf.gov.users.info',
  nodesInfo: 'public:ccf.gov.nodes.info',
  nodesEndorsedCertificates: 'public:ccf.gov.nodes.endorsed_certificates',
  /** SGX code IDs: Coco runs no SGX node, but CCF's constitution can still allow some (`add_node_code`). */
  codeIds: 'public:ccf.gov.nodes.code_ids',
  virtualMeasurements: 'public:ccf.gov.nodes.virtual.measurements',
  snpMeasurements: 'public:ccf.gov.nodes.snp.measurements',
  snpHostData: 'public:ccf.gov.nodes.snp.host_data',
  snpUvmEndorsements: 'public:ccf.gov.nodes.snp.uvm_endorsements',
  snpTcbVersions: 'public:ccf.gov.nodes.snp.tcb_versions',
  virtualHostData: 'public:ccf.gov.nodes.virtual.host_data',
  serviceInfo: 'public:ccf.gov.service.info',
  serviceConfig: 'public:ccf.gov.service.config',
  /** Set by a recovery: the identity of the service recovered from, as a PEM JSON string. */
  previousServiceIdentity: 'public:ccf.gov.service.previous_service_identity',
  /** Set as a recovered service starts waiting for shares: how it recovers (`"RECOVERY_SHARES"`, a JSON string). */
  lastRecoveryType: 'public:ccf.internal.last_recovery_type',
  constitution: 'public:ccf.gov.constitution',
  proposals: 'public:ccf.gov.proposals',
  proposalsInfo: 'public:ccf.gov.proposals_info',
  coseHistory: 'public:ccf.gov.cose_history',
  coseRecentProposals: 'public:ccf.gov.cose_recent_proposals',
  modules: 'public:ccf.gov.modules',
  endpoints: 'public:ccf.gov.endpoints',
  jsRuntimeOptions: 'public:ccf.gov.js_runtime_options',
  interpreterFlush: 'public:ccf.gov.interpreter.flush',
  caCertBundles: 'public:ccf.gov.tls.ca_cert_bundles',
  jwtIssuers: 'public:ccf.gov.jwt.issuers',
  /** JWT signing keys by kid: `[{public_key (base64 SPKI DER), issuer, constraint?}]`. */
  jwtPublicSigningKeysMetadata: 'public:ccf.gov.jwt.public_signing_keys_metadata_v2',
  /**
   * CCF's legacy JWT key tables, read only when a kid is not in the current one: by kid,
   * `[{cert (base64 DER certificate), issuer, constraint?}]` (Coco wrote `public_key` there instead);
   * and the older pair of a raw DER certificate and a raw issuer name.
   */
  jwtLegacyPublicSigningKeysMetadata: 'public:ccf.gov.jwt.public_signing_keys_metadata',
  jwtLegacyPublicSigningKey: 'public:ccf.gov.jwt.public_signing_key',
  jwtLegacyPublicSigningKeyIssuer: 'public:ccf.gov.jwt.public_signing_key_issuer',
  /** Coco's: lowercase 0x address → `{ "frozen": true }`; absent = not frozen (docs/ethereum.md). */
  ethereumAccounts: 'public:ccf.gov.ethereum.accounts',
  /** Coco's: lowercase 0x address → `{ "balance": "<wei, decimal>" }`, the balance governance last set. */
  ethereumBalances: 'public:ccf.gov.ethereum.balances',
  /** Coco's: lowercase 0x address → `"AllowedToSend"`; when empty, every address may send. */
  ethereumAllowedSenders: 'public:ccf.gov.ethereum.allowed_senders',
  signatures: 'public:ccf.internal.signatures',
  coseSignatures: 'public:ccf.internal.cose_signatures',
  tree: 'public:ccf.internal.tree',
} as const;

/** The only key of a single-value table. */
export const SINGLETON = new Uint8Array(8);

export const ServiceStatus = {
  opening: 'Opening',
  open: 'Open',
  waitingForRecoveryShares: 'WaitingForRecoveryShares',
  recovering: 'Recovering',
} as const;
export type ServiceStatusName = (typeof ServiceStatus)[keyof typeof ServiceStatus];

export interface ServiceInfo {
  cert: string;
  status: ServiceStatusName;
  previous_service_identity_version?: number;
  recovery_count?: number;
  service_data?: unknown;
  current_service_create_txid?: string;
}

export interface ServiceConfig {
  recovery_threshold: number;
  maximum_node_certificate_validity_days?: number;
  maximum_service_certificate_validity_days?: number;
  recent_cose_proposals_window_size?: number;
}

export type MemberStatus = 'Accepted' | 'Active';

export interface MemberInfo {
  status: MemberStatus;
  member_data?: unknown;
  recovery_role?: 'NonParticipant' | 'Participant' | 'Owner';
}

export type NodeStatus = 'Pending' | 'Trusted' | 'Retired';

/** CCF's NodeInfoNetwork_v2::NetInterface, as a node record holds it (see rpc/node-info-network.ts). */
export interface NetInterfaceInfo {
  bind_address: string;
  /** Where others reach it; a join without one records the bind address. */
  published_address: string;
  protocol?: string;
  app_protocol?: string;
  max_open_sessions_soft?: number;
  max_open_sessions_hard?: number;
  endorsement?: { authority: string };
  http_configuration?: Record<string, string | number>;
  accepted_endpoints?: string[];
  enabled_operator_features?: string[];
  redirections?: Record<string, { kind: string; target?: unknown }>;
}

export interface NodeInfo {
  status: NodeStatus;
  node_data: unknown;
  public_key: string;
  certificate_signing_request?: string;
  encryption_pub_key?: string;
  quote_info: QuoteInfo;
  rpc_interfaces: Record<string, NetInterfaceInfo>;
  /** Where other nodes reach this one (CCF: published_address, else bind_address). */
  node_to_node_interface?: { bind_address: string; published_address?: string };
  ledger_secret_seqno?: number;
  retired_committed?: boolean;
}

/** The virtual platform's join policy as the tables hold it: the measurements and host data members allowed. */
export function virtualJoinPolicy(tx: Transaction): VirtualJoinPolicy {
  return {
    measurementAllowed: (measurement) => tx.map(Tables.virtualMeasurements).has(utf8(measurement)),
    hostDataAllowed: (hostData) => tx.map(Tables.virtualHostData).has(utf8(hostData)),
  };
}

/** The service's identity and status (`public:ccf.gov.service.info`), once genesis wrote it. */
export function readServiceInfo(tx: Transaction): ServiceInfo | undefined {
  const value = tx.map(Tables.serviceInfo).get(SINGLETON);
  return value === undefined ? undefined : decodeJson<ServiceInfo>(value, Tables.serviceInfo);
}

/** The service configuration (`public:ccf.gov.service.config`), once genesis wrote it. */
export function readServiceConfig(tx: Transaction): ServiceConfig | undefined {
  const value = tx.map(Tables.serviceConfig).get(SINGLETON);
  return value === undefined ? undefined : decodeJson<ServiceConfig>(value, Tables.serviceConfig);
}

export function encodeJson(value: unknown): Uint8Array {
  return utf8(JSON.stringify(value));
}

/** Every entry of `table`, as `decode` turns its key (UTF-8, as every governance table's keys are) and value into an item. */
export function tableEntries<T>(tx: Transaction, table: string, decode: (key: string, value: Uint8Array) => T): T[] {
  const items: T[] = [];
  tx.map(table).forEach((value, key) => void items.push(decode(fromUtf8(key), value)));
  return items;
}

export function decodeJson<T>(bytes: Uint8Array, table: string): T {
  try {
    return JSON.parse(fromUtf8(bytes)) as T;
  } catch {
    throw new CocoError('InternalError', `the value in ${table} is not JSON`);
  }
}
