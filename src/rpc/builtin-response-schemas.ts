// What each built-in operation answers, for the frontends' OpenAPI documents: by method and
// frontend-relative path, the 200 (or 204) answer's media type and schema, the schemas named as
// CCF names them (`GetCommit__Out`, `NodeMetrics`, ...) where CCF has the operation. A schema
// describes Coco's answer, field for field, where it differs from CCF's (test/rpc checks each
// against a live service).

import { ServiceStatus, type NodeStatus } from '../governance/builtin-tables.js';
import { OPERATOR_FEATURES } from '../node/node-config.js';
import type { Role } from '../consensus/raft-node.js';
import type { RetirementPhase } from '../node/node.js';
import type { NodeState } from './node-views.js';

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const object = (properties: Record<string, Schema>, optional: readonly string[] = []): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
});
const arrayOf = (name: string): Schema => ({ type: 'array', items: ref(name) });
const mapOf = (name: string): Schema => ({ type: 'object', additionalProperties: ref(name) });
const NODE_ID_PATTERN = '^[a-f0-9]{64}$';
/** A uint64 (a seqno, a count) and a TxID ("view.seqno"), in the answers and the query parameters alike. */
export const UINT64_SCHEMA: Schema = { type: 'integer', minimum: 0 };
export const TRANSACTION_ID_SCHEMA: Schema = { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' };
const UINT64 = ref('uint64');
const STRING = ref('string');

// CCF 6 gives its receipts as `json`; Coco's two shapes (describe_receipt_v1): an ordinary
// transaction's has leaf_components, a signature transaction's the signed root as `leaf`.
const RECEIPT_PROPERTIES: Record<string, Schema> = {
  cert: ref('Pem'),
  leaf: STRING,
  leaf_components: object({ claims_digest: STRING, commit_evidence: STRING, write_set_digest: STRING }, ['claims_digest']),
  node_id: ref('NodeId'),
  proof: arrayOf('Receipt__Element'),
  service_endorsements: arrayOf('Pem'),
  signature: ref('base64string'),
};
const RECEIPT_OPTIONAL = ['leaf', 'leaf_components', 'service_endorsements'];

/** The shared schemas, by name: what `components.schemas` holds (each document lists those it uses). */
const SCHEMAS: Readonly<Record<string, Schema>> = {
  json: {},
  string: { type: 'string' },
  boolean: { type: 'boolean' },
  uint64: UINT64_SCHEMA,
  string_array: arrayOf('string'),
  Pem: { type: 'string' },
  base64string: { type: 'string', format: 'base64' },
  TransactionId: TRANSACTION_ID_SCHEMA,
  TransactionId_array: arrayOf('TransactionId'),
  NodeId: { type: 'string', format: 'hex', pattern: NODE_ID_PATTERN },
  TxStatus: { type: 'string', enum: ['Unknown', 'Pending', 'Committed', 'Invalid'] },
  GetCommit__Out: object({ transaction_id: ref('TransactionId'), view_history: ref('TransactionId_array') }, ['view_history']),
  GetTxStatus__Out: object({ transaction_id: ref('TransactionId'), status: ref('TxStatus') }),
  CodeStatus: { type: 'string', enum: ['AllowedToJoin'] },
  GetCode__Version: object({ digest: STRING, status: ref('CodeStatus') }),
  GetCode__Out: object({ versions: arrayOf('GetCode__Version') }),
  GetSnpHostDataMap__HostData: object({ raw: STRING, metadata: STRING }),
  GetSnpHostDataMap__Out: object({ host_data: arrayOf('GetSnpHostDataMap__HostData') }),
  EndpointMetricsEntry: object({ path: STRING, method: STRING, calls: UINT64, errors: UINT64, failures: UINT64, retries: UINT64 }),
  EndpointMetrics: object({ metrics: arrayOf('EndpointMetricsEntry') }),
  Receipt: object(RECEIPT_PROPERTIES, RECEIPT_OPTIONAL),
  // The Ethereum adapter's: the receipt of the Coco transaction, the Ethereum receipt (JSON-RPC's shape) beside it.
  EthereumReceipt__Out: object({ ...RECEIPT_PROPERTIES, ethereum_receipt: ref('json') }, RECEIPT_OPTIONAL),
  Receipt__Element: { type: 'object', properties: { left: STRING, right: STRING } },
  ccf__NodeStartupState: { type: 'string', enum: ['Pending', 'PartOfPublicNetwork', 'PartOfNetwork'] satisfies NodeState[] },
  GetState__Out: object({ node_id: ref('NodeId'), state: ref('ccf__NodeStartupState'), last_signed_seqno: UINT64, startup_seqno: UINT64, stop_notice: ref('boolean') }),
  GetVersion__Out: object({ ccf_version: STRING, quickjs_version: STRING, unsafe: ref('boolean') }),
  ServiceStatus: { type: 'string', enum: Object.values(ServiceStatus) },
  // primary_id is null while no primary is known (CCF leaves it out).
  GetNetworkInfo__Out: object({
    service_status: ref('ServiceStatus'),
    service_certificate: ref('Pem'),
    current_view: UINT64,
    primary_id: { type: 'string', pattern: NODE_ID_PATTERN, nullable: true },
    recovery_count: UINT64,
    service_data: ref('json'),
    current_service_create_txid: ref('TransactionId'),
  }),
  NodeStatus: { type: 'string', enum: ['Pending', 'Trusted', 'Retired'] satisfies NodeStatus[] },
  Endorsement: object({ authority: { type: 'string', enum: ['Node', 'Service', 'ACME', 'Unsecured'] } }),
  NodeInfoNetwork_v2__NetInterface: object(
    {
      bind_address: STRING,
      published_address: STRING,
      protocol: STRING,
      app_protocol: STRING,
      max_open_sessions_soft: UINT64,
      max_open_sessions_hard: UINT64,
      endorsement: ref('Endorsement'),
      // CCF's parser settings, by name: sizes ("1MB", or bytes) and counts.
      http_configuration: mapOf('json'),
      accepted_endpoints: ref('string_array'),
      enabled_operator_features: { type: 'array', items: { type: 'string', enum: [...OPERATOR_FEATURES] } },
      redirections: mapOf('json'),
    },
    ['protocol', 'app_protocol', 'max_open_sessions_soft', 'max_open_sessions_hard', 'endorsement', 'http_configuration', 'accepted_endpoints', 'enabled_operator_features', 'redirections'],
  ),
  GetNode__NodeInfo: object({
    node_id: ref('NodeId'),
    status: ref('NodeStatus'),
    primary: ref('boolean'),
    rpc_interfaces: mapOf('NodeInfoNetwork_v2__NetInterface'),
    node_data: ref('json'),
    last_written: UINT64,
  }),
  GetNodes__Out: object({ nodes: arrayOf('GetNode__NodeInfo') }),
  QuoteFormat: { type: 'string', enum: ['Insecure_Virtual'] },
  Quote: object({ node_id: ref('NodeId'), raw: ref('base64string'), endorsements: ref('base64string'), format: ref('QuoteFormat'), measurement: STRING }),
  Attestation: ref('Quote'),
  GetQuotes__Out: object({ quotes: arrayOf('Quote') }),
  GetAttestations__Out: object({ attestations: arrayOf('Attestation') }),
  SelfSignedNodeCertificateInfo: object({ self_signed_certificate: ref('Pem') }),
  ServiceConfiguration: object(
    { recovery_threshold: UINT64, maximum_node_certificate_validity_days: UINT64, maximum_service_certificate_validity_days: UINT64, recent_cose_proposals_window_size: UINT64 },
    ['maximum_node_certificate_validity_days', 'maximum_service_certificate_validity_days', 'recent_cose_proposals_window_size'],
  ),
  GetServicePreviousIdentity__Out: object({ previous_service_identity: ref('Pem') }),
  // A node's node-to-node address: null when its record gives none.
  ConsensusNodeConfig: object({ address: { type: 'string', nullable: true } }),
  string_to_ConsensusNodeConfig: mapOf('ConsensusNodeConfig'),
  SessionMetrics__Errors: object({ parsing: UINT64, request_payload_too_large: UINT64, request_header_too_large: UINT64 }),
  SessionMetrics__PerInterface: object({ active: UINT64, peak: UINT64, soft_cap: UINT64, hard_cap: UINT64, errors: ref('SessionMetrics__Errors') }),
  SessionMetrics: object({ active: UINT64, peak: UINT64, interfaces: mapOf('SessionMetrics__PerInterface') }),
  NodeMetrics: object({ sessions: ref('SessionMetrics') }),
  JWTRefreshMetrics: object({ attempts: UINT64, successes: UINT64, failures: UINT64 }),
  MemoryUsage__Out: object({ max_total_heap_size: UINT64, current_allocated_heap_size: UINT64, peak_allocated_heap_size: UINT64 }),
  JavaScriptMetrics: object({ bytecode_size: UINT64, bytecode_used: ref('boolean'), max_heap_size: UINT64, max_stack_size: UINT64, max_execution_time: UINT64, max_cached_interpreters: UINT64 }),
  Configuration: object({ idx: UINT64, rid: UINT64, nodes: ref('string_to_ConsensusNodeConfig') }),
  ConsensusDetails__Ack: object({ seqno: UINT64, last_received_ms: UINT64 }),
  ConsensusDetails: object(
    {
      configs: arrayOf('Configuration'),
      acks: mapOf('ConsensusDetails__Ack'),
      membership_state: { type: 'string', enum: ['Active', 'Retired'] },
      retirement_phase: { type: 'string', enum: ['Ordered', 'Signed', 'Completed', 'RetiredCommitted'] satisfies RetirementPhase[] },
      leadership_state: { type: 'string', enum: ['Leader', 'Follower', 'Candidate'] satisfies Role[] },
      primary_id: { type: 'string', pattern: NODE_ID_PATTERN, nullable: true },
      current_view: UINT64,
      ticking: ref('boolean'),
      reconfiguration_type: { type: 'string', enum: ['OneTransaction'] },
    },
    ['retirement_phase'],
  ),
  ConsensusConfigDetails: object({ details: ref('ConsensusDetails') }),
  // The governance API's reads (CCF's service_state.h, api-version 2024-07-01), in camelCase as it writes them.
  gov__ServiceConfiguration: object({ recoveryThreshold: UINT64, maximumNodeCertificateValidityDays: UINT64, maximumServiceCertificateValidityDays: UINT64, recentCoseProposalsWindowSize: UINT64 }),
  gov__ServiceInfo: object(
    {
      status: ref('ServiceStatus'),
      certificate: ref('Pem'),
      recoveryCount: UINT64,
      creationTransactionId: ref('TransactionId'),
      previousServiceCreationTransactionId: ref('TransactionId'),
      serviceData: ref('json'),
      configuration: ref('gov__ServiceConfiguration'),
    },
    ['creationTransactionId', 'previousServiceCreationTransactionId', 'configuration'],
  ),
  gov__JavascriptApp: object({ endpoints: ref('json') }),
  gov__JavascriptModule: object({ moduleName: STRING }),
  gov__JavascriptModules: object({ value: arrayOf('gov__JavascriptModule') }),
  gov__JoinPolicy: object({
    sgx: object({ measurements: ref('string_array') }),
    virtual: object({ measurements: ref('string_array'), hostData: ref('string_array') }),
    snp: object({ measurements: ref('string_array'), hostData: mapOf('string'), uvmEndorsements: mapOf('json'), tcbVersions: mapOf('json') }),
  }),
  gov__JwtIssuer: object({ autoRefresh: ref('boolean'), caCertBundleName: STRING }, ['caCertBundleName']),
  gov__Jwk: object({ publicKey: ref('Pem'), issuer: STRING, constraint: ref('json') }),
  gov__JwkInfo: object({ issuers: mapOf('gov__JwtIssuer'), keys: { type: 'object', additionalProperties: arrayOf('gov__Jwk') }, caCertBundles: mapOf('string') }),
  gov__Member: object(
    {
      memberId: ref('NodeId'),
      status: { type: 'string', enum: ['Accepted', 'Active'] },
      memberData: ref('json'),
      certificate: ref('Pem'),
      publicEncryptionKey: ref('Pem'),
      recoveryRole: { type: 'string', enum: ['NonParticipant', 'Participant', 'Owner'] },
    },
    ['certificate', 'publicEncryptionKey'],
  ),
  gov__Members: object({ value: arrayOf('gov__Member') }),
  gov__User: object({ userId: ref('NodeId'), certificate: ref('Pem'), userData: ref('json') }),
  gov__Users: object({ value: arrayOf('gov__User') }),
  gov__NetworkInterface: object({ publishedAddress: STRING, protocol: STRING }, ['protocol']),
  gov__Node: object(
    {
      nodeId: ref('NodeId'),
      status: ref('NodeStatus'),
      nodeData: ref('json'),
      certificate: ref('Pem'),
      retiredCommitted: ref('boolean'),
      quoteInfo: ref('json'),
      rpcInterfaces: mapOf('gov__NetworkInterface'),
    },
    ['certificate'],
  ),
  gov__Nodes: object({ value: arrayOf('gov__Node') }),
};

/** An answer of a built-in operation: its status, what it is, and its body's media type and schema. */
interface Answer {
  status: '200' | '204';
  description: string;
  content?: Record<string, { schema: Schema }>;
}

const json = (name: string, description: string): Answer => ({ status: '200', description, content: { 'application/json': { schema: ref(name) } } });
const noBody = (status: Answer['status'], description: string): Answer => ({ status, description });
const BINARY: Schema = { type: 'string', format: 'binary' };
const JAVASCRIPT: Answer = { status: '200', description: 'the JavaScript source', content: { 'text/javascript': { schema: STRING } } };
const FILE: Answer = { status: '200', description: 'the file, or the byte range asked for (206)', content: { 'application/octet-stream': { schema: BINARY } } };

/** By `METHOD path` under the frontend; operations not listed answer `default` only (redirects, HEADs). */
const ANSWERS: Readonly<Record<string, Answer>> = {
  'GET /commit': json('GetCommit__Out', 'the last committed transaction, with the first of each view when asked'),
  'GET /tx': json('GetTxStatus__Out', "the transaction's status on this node"),
  'GET /local_tx': json('GetTxStatus__Out', "the transaction's status on this node"),
  'GET /receipt': {
    status: '200',
    description: "the committed transaction's receipt; a COSE receipt with Accept: application/cose",
    content: { 'application/json': { schema: ref('Receipt') }, 'application/cose': { schema: BINARY } },
  },
  'GET /ethereum/receipt': {
    status: '200',
    description: "the receipt of the Coco transaction that ran the Ethereum transaction, with its Ethereum receipt; a COSE receipt with Accept: application/cose",
    content: { 'application/json': { schema: ref('EthereumReceipt__Out') }, 'application/cose': { schema: BINARY } },
  },
  'POST /ethereum': json('json', 'the JSON-RPC 2.0 answer (a list of them for a batch)'),
  'GET /code': json('GetCode__Out', 'the SGX code IDs allowed to join'),
  'GET /snp/measurements': json('GetCode__Out', 'the SNP measurements allowed to join'),
  'GET /snp/host_data': json('GetSnpHostDataMap__Out', 'the SNP host data allowed to join, with their security policies'),
  'GET /api': json('json', "this frontend's OpenAPI document"),
  'GET /api/metrics': json('EndpointMetrics', "calls of this frontend's endpoints"),
  'GET /state': json('GetState__Out', "this node's state"),
  'GET /version': json('GetVersion__Out', "Coco's version (coco-<version>)"),
  'GET /network': json('GetNetworkInfo__Out', 'the service'),
  'GET /network/nodes': json('GetNodes__Out', 'the nodes, filtered by the query'),
  'GET /network/nodes/{node_id}': json('GetNode__NodeInfo', 'the node'),
  'GET /network/removable_nodes': json('GetNodes__Out', 'the nodes whose retirement committed'),
  'DELETE /network/nodes/{node_id}': json('boolean', 'true: the records of the node are removed'),
  'GET /quotes/self': json('Quote', "this node's attestation"),
  'GET /attestations/self': json('Attestation', "this node's attestation"),
  'GET /quotes': json('GetQuotes__Out', 'the attestations of the Trusted nodes'),
  'GET /attestations': json('GetAttestations__Out', 'the attestations of the Trusted nodes'),
  'GET /self_signed_certificate': json('SelfSignedNodeCertificateInfo', "this node's self-signed certificate"),
  'GET /service/configuration': json('ServiceConfiguration', 'the service configuration'),
  'GET /service/previous_identity': json('GetServicePreviousIdentity__Out', 'the certificate of the service this one recovered'),
  'GET /config': json('string_to_ConsensusNodeConfig', 'the nodes of the latest configuration, by node ID'),
  'GET /metrics': json('NodeMetrics', "this node's client sessions"),
  'GET /jwt_keys/refresh/metrics': json('JWTRefreshMetrics', 'the counts of the JWT key refresh'),
  'GET /jwt_metrics': json('JWTRefreshMetrics', 'the counts of the JWT key refresh'),
  'GET /memory': json('MemoryUsage__Out', "this node's memory"),
  'GET /js_metrics': json('JavaScriptMetrics', "the application runtime's limits"),
  'GET /consensus': json('ConsensusConfigDetails', "this node's view of consensus"),
  'GET /index/strategies': json('json', 'the indexing strategies installed (none)'),
  'GET /primary': noBody('200', 'this node is the primary'),
  'HEAD /primary': noBody('200', 'this node is the primary'),
  'GET /backup': noBody('200', 'this node is a backup'),
  'GET /ready/app': noBody('204', 'the application frontend serves'),
  'GET /ready/gov': noBody('204', 'the governance frontend serves'),
  'GET /service/constitution': JAVASCRIPT,
  'GET /service/info': json('gov__ServiceInfo', 'the service, its creation and its configuration'),
  'GET /service/javascript-app': json('gov__JavascriptApp', "the application's endpoints, by path and method"),
  'GET /service/javascript-modules': json('gov__JavascriptModules', "the application's modules"),
  'GET /service/javascript-modules/{moduleName}': JAVASCRIPT,
  'GET /service/join-policy': json('gov__JoinPolicy', 'what a node must attest to join'),
  'GET /service/jwk': json('gov__JwkInfo', 'the JWT issuers, their keys and the CA certificate bundles'),
  'GET /service/members': json('gov__Members', 'the members'),
  'GET /service/members/{memberId}': json('gov__Member', 'the member'),
  'GET /service/users': json('gov__Users', 'the users'),
  'GET /service/users/{userId}': json('gov__User', 'the user'),
  'GET /service/nodes': json('gov__Nodes', 'the nodes'),
  'GET /service/nodes/{nodeId}': json('gov__Node', 'the node'),
  'GET /snapshot/{snapshot_name}': FILE,
  'GET /ledger-chunk/{chunk_name}': FILE,
};

/** The OpenAPI answer of a built-in operation (`{"200": ...}`), or none when it has no listed answer. */
export function builtinAnswer(method: string, path: string): Record<string, unknown> | undefined {
  const answer = ANSWERS[`${method} ${path}`];
  if (answer === undefined) return undefined;
  const { status, ...response } = answer;
  return { [status]: response };
}

/** The schemas of this table that `operations` refer to, directly or through others: a document's `components.schemas`. */
export function schemasReferencedBy(operations: readonly unknown[]): Record<string, Schema> {
  const named: Record<string, Schema> = {};
  const visit = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    const target = (value as { $ref?: unknown }).$ref;
    if (typeof target === 'string' && target.startsWith('#/components/schemas/')) {
      const name = target.slice('#/components/schemas/'.length);
      const schema = SCHEMAS[name];
      if (schema !== undefined && named[name] === undefined) {
        named[name] = schema;
        visit(schema);
      }
    }
    for (const child of Object.values(value)) visit(child);
  };
  operations.forEach(visit);
  return Object.fromEntries(Object.entries(named).sort(([a], [b]) => (a < b ? -1 : 1)));
}
