// The endpoints every Coco node serves itself: CCF's common endpoints under each frontend
// (`/commit`, `/tx`, `/local_tx`, `/api`, `/api/metrics`) and the `/node` operator endpoints.

import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { decodeJson, SINGLETON, tableEntries, Tables, type NodeInfo, type NodeStatus, type ServiceInfo } from '../governance/builtin-tables.js';
import { viewStartVector } from '../ledger/ledger-writer.js';
import { parseSnapshotFileName } from '../ledger/committed-snapshot.js';
import { formatTxId } from '../ledger/tx-id.js';
import { committedChunkHolding, committedChunkNamed } from '../node/ledger-directory.js';
import type { Node } from '../node/node.js';
import type { JwtRefreshMetrics } from '../node/jwt-key-refresh.js';
import { hostAndPort, type OperatorFeature } from '../node/node-config.js';
import { nodeRecords as recordsOf, nodeToNodeAddress, publishedRpcAddresses, rpcInterfaceUrl } from '../node/service-nodes.js';
import { splitEndpointKey, type EndpointInfo } from '../js/app-bundle.js';
import type { QuoteInfo } from '../attestation/virtual-attestation.js';
import type { AppRuntime } from './app-runtime.js';
import { serveFile, withEntityTag } from './file-serving.js';
import { nodeMemory } from './node-memory.js';
import { nodeStateView, quoteView, versionView } from './node-views.js';
import { acceptsCose } from './accept-header.js';
import { RpcError } from './rpc-error.js';
import { builtinAnswer, schemasReferencedBy, TRANSACTION_ID_SCHEMA, UINT64_SCHEMA } from './builtin-response-schemas.js';
import { requireServiceInfo } from './service-info.js';
import { GA_API_VERSIONS, GOV_API_VERSIONS } from './gov-endpoints.js';
import { transactionIdParameter, UINT64_MAX } from './transaction-id-parameter.js';
import { uncommittedRefusal } from './uncommitted-refusal.js';
import type { RpcHandler, RpcRequest, RpcResponse, RpcServer } from './rpc-server.js';
import type { SessionCounts } from './session-caps.js';
import type { Frontend } from './route-table.js';

const ALL: readonly Frontend[] = ['app', 'gov', 'node'];

export interface BuiltinEndpointOptions {
  version: string;
  /** `https://host:port` of the primary's matching interface, when known. */
  primaryUrl: () => string | undefined;
  /** The interface's name and its opt-in operator features (serving snapshots, ledger chunks). */
  interfaceName: string;
  operatorFeatures: ReadonlySet<OperatorFeature>;
  /** The node's client sessions on all its interfaces (`/node/metrics`). */
  sessions: SessionCounts;
  /** The JS application's runtime, whose effective limits `/node/js_metrics` reports. */
  appRuntime: AppRuntime;
  /** The node's self-signed certificate, the one it joined with (`/node/self_signed_certificate`). */
  selfSignedCertPem: string;
  /**
   * The evidence of the code this node runs now (`/node/quotes/self`), which the join policy was
   * checked against at its start: a node restarted on new code still has its join's quote in its record.
   */
  quoteInfo: QuoteInfo;
  /** The counts of the JWT key auto-refresh (`/node/jwt_keys/refresh/metrics`). */
  jwtRefreshMetrics: Readonly<JwtRefreshMetrics>;
}

/** CCF's `since` query parameter of the file-serving endpoints: a seqno; 0 when absent and not `required`. */
function sinceParameter(request: RpcRequest, required: boolean): number {
  const text = request.query.get('since');
  if (text === null && required) throw new RpcError(400, 'InvalidQueryParameterValue', "query parameter 'since' is required: the seqno the chunk must hold, e.g. ?since=1");
  if (text === null) return 0;
  const since = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(since)) {
    throw new RpcError(400, 'InvalidQueryParameterValue', `query parameter since must be a seqno (a non-negative integer), got '${text}'`);
  }
  return since;
}

/**
 * CCF's `/commit` options, by get_commit's rule: `view_history_since=V` lists the first TxID of
 * every view from V on, and is checked first; then `view_history`, when present, decides: `true`
 * lists them all, `false` none (whatever view_history_since asked), anything else is refused.
 * Undefined when no history is listed.
 */
function viewHistorySince(request: RpcRequest, currentView: number): number | undefined {
  const since = viewHistorySinceParameter(request, currentView);
  const all = request.query.get('view_history');
  if (all === null) return since;
  if (all === 'true') return 1;
  if (all === 'false') return undefined;
  throw new RpcError(400, 'InvalidQueryParameterValue', 'Invalid value for view_history, must be one of [true, false] when present');
}

function viewHistorySinceParameter(request: RpcRequest, currentView: number): number | undefined {
  const text = request.query.get('view_history_since');
  if (text === null) return undefined;
  // A uint64, as CCF parses it: any larger is no view at all, one past the current not found.
  if (!/^[0-9]+$/.test(text) || BigInt(text) > UINT64_MAX) {
    throw new RpcError(400, 'InvalidQueryParameterValue', `query parameter view_history_since must be a view (a whole number from 1), got '${text}'`);
  }
  const since = BigInt(text);
  // CCF's statuses: a view before the first is a bad argument, one after the current not found.
  if (since < 1n || since > BigInt(currentView)) {
    throw new RpcError(since < 1n ? 400 : 404, 'InvalidQueryParameterValue', `Invalid value for view_history_since, must be in range [1, current_term]: the current view is ${currentView}`);
  }
  return Number(since);
}

function readService(node: Node): ServiceInfo {
  const { result } = node.execute((tx) => ({ result: requireServiceInfo(tx), applyWrites: false }));
  return result;
}

interface NodeRecord {
  node_id: string;
  info: NodeInfo;
  /** The seqno that last wrote this record (CCF's `last_written`). */
  written: number;
}

function nodeRecords(node: Node): NodeRecord[] {
  const { result } = node.execute((tx) => {
    const infos = tx.map(Tables.nodesInfo);
    const records = [...recordsOf(tx)].map(([node_id, info]) => ({ node_id, info, written: Number(infos.getVersionOfPreviousWrite(utf8(node_id)) ?? 0) }));
    return { result: records, applyWrites: false };
  });
  return result;
}

/** `https://<address>` of `interfaceName` on the Trusted node whose ID follows this node's (wrapping round); undefined when alone. */
function nextNodeUrl(node: Node, interfaceName: string): string | undefined {
  const others = nodeRecords(node)
    .filter(({ node_id, info }) => node_id !== node.nodeId && info.status === 'Trusted')
    .sort((a, b) => (a.node_id < b.node_id ? -1 : 1));
  const next = others.find(({ node_id }) => node_id > node.nodeId) ?? others[0];
  return rpcInterfaceUrl(next?.info, interfaceName);
}

/**
 * CCF's redirect to a file this node serves: a plain 308 to `https://<its published address of the
 * interface the request came in on><path>`, no error. 500 when its record publishes no such interface.
 */
function redirectToOwn(node: Node, interfaceName: string, path: string): RpcResponse {
  const own = rpcInterfaceUrl(nodeRecords(node).find((r) => r.node_id === node.nodeId)?.info, interfaceName);
  if (own === undefined) throw new RpcError(500, 'InternalError', `Cannot redirect request. Received on RPC interface ${interfaceName}, which is not present on target node ${node.nodeId}`);
  return { status: 308, headers: { location: `${own}${path}` } };
}

function describeNode(node: Node, record: NodeRecord): Record<string, unknown> {
  return {
    node_id: record.node_id,
    status: record.info.status,
    primary: record.node_id === node.role.leaderId,
    rpc_interfaces: record.info.rpc_interfaces,
    node_data: record.info.node_data,
    last_written: record.written,
  };
}

export function addBuiltinEndpoints(server: RpcServer, node: Node, options: BuiltinEndpointOptions): void {
  /** Paths of CCF's common endpoints, which every frontend serves (GET): all that /gov/api lists. */
  const commonPaths = new Set<string>();
  const common = (path: string, handler: RpcHandler) => {
    commonPaths.add(path);
    server.add(ALL, 'GET', path, handler);
  };
  common('/commit', (request) => {
    const since = viewHistorySince(request, node.role.view);
    const transaction_id = formatTxId(node.commitTxId);
    if (since === undefined) return { body: { transaction_id } };
    const starts = viewStartVector(node.viewHistory).slice(since - 1);
    return { body: { transaction_id, view_history: starts.map((seqno, i) => formatTxId({ view: since + i, seqno })) } };
  });
  for (const path of ['/tx', '/local_tx']) {
    common(path, (request) => {
      const { text, txId } = transactionIdParameter(request);
      return { body: { transaction_id: text, status: node.status(txId) } };
    });
  }
  common('/receipt', (request) => {
    const { text, txId } = transactionIdParameter(request);
    const status = node.status(txId);
    if (status !== 'Committed') throw uncommittedRefusal(text, status);
    if (acceptsCose(request.headers.accept)) {
      return { body: node.coseReceipt(txId), headers: { 'content-type': 'application/cose' } };
    }
    return { body: node.receipt(txId) };
  });
  // What governance allows to join, as CCF lists it under every frontend: SGX code IDs and SNP
  // measurements (`{versions: [{digest, status}]}`), SNP host data with its security policy.
  const allowedVersions = (table: string) => ({
    body: { versions: readEntries(node, table, (digest, value) => ({ digest, status: decodeJson<string>(value, table) })) },
  });
  common('/code', () => allowedVersions(Tables.codeIds));
  common('/snp/measurements', () => allowedVersions(Tables.snpMeasurements));
  common('/snp/host_data', (request) => {
    const key = request.query.get('key');
    const all = readEntries(node, Tables.snpHostData, (raw, value) => ({ raw, metadata: decodeJson<string>(value, Tables.snpHostData) }));
    return { body: { host_data: key === null ? all : all.filter((entry) => entry.raw === key) } };
  });
  common('/api', (request) => ({ body: openApiDocument(server, node, request.frontend, options.version, commonPaths) }));
  // Paths as CCF names them there: under the frontend, without a leading slash (`log/private`).
  common('/api/metrics', (request) => {
    const prefix = `/${request.frontend}/`;
    const metrics = [...server.metrics.values()].filter((m) => m.path.startsWith(prefix)).map((m) => ({ ...m, path: m.path.slice(prefix.length) }));
    return { body: { metrics } };
  });

  server.add('node', 'GET', '/state', () => ({
    body: nodeStateView(node.nodeId, node.recovering ? 'PartOfPublicNetwork' : 'PartOfNetwork', node.lastSignatureSeqno, node.startupSeqno, node.stopNotice),
  }));
  server.add('node', 'GET', '/version', () => ({ body: versionView(options.version) }));
  server.add('node', 'GET', '/network', () => {
    const service = readService(node);
    return {
      body: {
        service_status: service.status,
        service_certificate: service.cert,
        current_view: node.role.view,
        primary_id: node.role.leaderId ?? null,
        recovery_count: service.recovery_count ?? 0,
        service_data: service.service_data ?? {},
        current_service_create_txid: service.current_service_create_txid,
      },
    };
  });
  // CCF's filters: status, and host and/or port matching the published address of any interface.
  server.add('node', 'GET', '/network/nodes', (request) => {
    const { query } = request;
    const [status, host, port] = [query.get('status'), query.get('host'), query.get('port')];
    if (status !== null && !NODE_STATUSES.includes(status)) {
      throw new RpcError(400, 'InvalidQueryParameterValue', `Query parameter '${status}' is not a valid node status: use one of ${NODE_STATUSES.join(', ')}`);
    }
    const published = (info: NodeInfo) => [...publishedRpcAddresses(info).values()].map((address) => hostAndPort(address));
    const nodes = nodeRecords(node).filter(
      (r) =>
        (status === null || r.info.status === status) &&
        published(r.info).some((a) => a !== undefined && (host === null || a.host === host) && (port === null || String(a.port) === port)),
    );
    return { body: { nodes: nodes.map((r) => describeNode(node, r)) } };
  });
  const oneNode = (id: string) => {
    const record = nodeRecords(node).find((r) => r.node_id === id);
    if (record === undefined) throw new RpcError(404, 'ResourceNotFound', `no node ${id} in this service`);
    return { body: describeNode(node, record) };
  };
  // As CCF: `self` and `primary` are names, answered with a permanent redirect (308) to the node's
  // record by ID on this node's own address (operators read the ID from the Location header).
  server.add('node', 'GET', '/network/nodes/self', () => redirectToOwn(node, options.interfaceName, `/node/network/nodes/${node.nodeId}`));
  server.add('node', 'GET', '/network/nodes/primary', () => {
    const primary = node.role.leaderId;
    if (primary === undefined && node.stopNotice) throw node.retiredError('knows no primary');
    if (primary === undefined) throw new RpcError(500, 'InternalError', 'Primary unknown');
    return redirectToOwn(node, options.interfaceName, `/node/network/nodes/${primary}`);
  });
  server.add('node', 'GET', '/network/nodes/{node_id}', (request) => oneNode(request.params.node_id!));
  const removable = (info: NodeInfo) => info.status === 'Retired' && info.retired_committed === true;
  server.add('node', 'GET', '/network/removable_nodes', () => ({
    body: { nodes: nodeRecords(node).filter((r) => removable(r.info)).map((r) => describeNode(node, r)) },
  }));
  // CCF's operator clean-up: the records of a node whose retirement committed can go.
  server.add('node', 'DELETE', '/network/nodes/{node_id}', (request) => {
    const id = request.params.node_id!;
    // A write: a backup redirects it before reading the record (its copy may lag the primary's), as
    // CCF sends it to the primary first; a retired node, whose state stopped at its removal, refuses it.
    node.checkCanWrite();
    node.execute((tx) => {
      const value = tx.map(Tables.nodesInfo).get(utf8(id));
      // As CCF: the same 400 for a record already removed, so that a retried DELETE says so.
      if (value === undefined) throw new RpcError(400, 'NodeNotRetiredCommitted', `no node ${id} in this service (its record may have been removed already)`);
      if (!removable(decodeJson<NodeInfo>(value, Tables.nodesInfo))) {
        throw new RpcError(400, 'NodeNotRetiredCommitted', `node ${id} is not retired, or its retirement has not committed yet; see /node/network/removable_nodes`);
      }
      tx.map(Tables.nodesInfo).delete(utf8(id));
      tx.map(Tables.nodesEndorsedCertificates).delete(utf8(id));
      return { result: undefined, applyWrites: true };
    });
    // CCF answers `true`.
    return { body: true };
  });
  const quoteOf = (record: { node_id: string; info: NodeInfo }) => quoteView(record.node_id, record.info.quote_info);
  // CCF 5 renamed quotes to attestations and serves both.
  const ownQuote = () => ({ body: quoteView(node.nodeId, options.quoteInfo) });
  const trustedQuotes = () => nodeRecords(node).filter((r) => r.info.status === 'Trusted').map(quoteOf);
  server.add('node', 'GET', '/quotes/self', ownQuote);
  server.add('node', 'GET', '/attestations/self', ownQuote);
  server.add('node', 'GET', '/quotes', () => ({ body: { quotes: trustedQuotes() } }));
  server.add('node', 'GET', '/attestations', () => ({ body: { attestations: trustedQuotes() } }));
  server.add('node', 'GET', '/self_signed_certificate', () => ({ body: { self_signed_certificate: options.selfSignedCertPem } }));
  server.add('node', 'GET', '/service/configuration', () => {
    const value = readTable(node, Tables.serviceConfig);
    if (value === undefined) throw new RpcError(503, 'NodeCannotHandleRequest', 'the service has no configuration yet');
    return { body: decodeJson(value, Tables.serviceConfig) };
  });
  server.add('node', 'GET', '/service/previous_identity', () => {
    const value = readTable(node, Tables.previousServiceIdentity);
    if (value === undefined) throw new RpcError(404, 'ResourceNotFound', 'This service is not a recovery of a previous service.');
    return { body: { previous_service_identity: decodeJson<string>(value, Tables.previousServiceIdentity) } };
  });
  // The latest consensus configuration: each node's node-to-node address.
  server.add('node', 'GET', '/config', () => {
    const records = new Map(nodeRecords(node).map((r) => [r.node_id, r.info]));
    const latest = node.configurations.at(-1) ?? [];
    return { body: Object.fromEntries(latest.map((id) => [id, { address: nodeToNodeAddressOf(records.get(id)) }])) };
  });
  server.add('node', 'GET', '/metrics', () => ({ body: { sessions: options.sessions.metrics() } }), { ignoresAccept: true });
  // CCF's name, and the one it had before (`/jwt_metrics`).
  for (const path of ['/jwt_keys/refresh/metrics', '/jwt_metrics']) server.add('node', 'GET', path, () => ({ body: { ...options.jwtRefreshMetrics } }));
  server.add('node', 'GET', '/memory', () => ({ body: nodeMemory() }), { ignoresAccept: true });
  server.add('node', 'GET', '/js_metrics', () => {
    const { limits, interpreters } = node.execute((tx) => ({ result: options.appRuntime.settingsFor(tx), applyWrites: false })).result;
    return {
      // Coco keeps no bytecode cache: modules compile when an interpreter loads them.
      body: {
        bytecode_size: 0,
        bytecode_used: false,
        max_heap_size: limits.maxHeapBytes,
        max_stack_size: limits.maxStackBytes,
        max_execution_time: limits.maxExecutionTimeMs,
        max_cached_interpreters: interpreters,
      },
    };
  });
  // As in CCF: GET answers whether this node is the primary (or a backup); HEAD /primary on a
  // backup sends the caller to the primary's with a permanent redirect (308).
  server.add('node', 'GET', '/primary', () => {
    if (!node.isPrimary) throw new RpcError(404, 'ResourceNotFound', 'Node is not primary');
    return { status: 200 };
  });
  server.add('node', 'HEAD', '/primary', (request: RpcRequest) => {
    if (node.isPrimary) return { status: 200 };
    const primary = options.primaryUrl();
    if (primary === undefined && node.stopNotice) throw node.retiredError('knows no primary');
    if (primary === undefined) throw new RpcError(500, 'InternalError', 'Primary unknown');
    throw new RpcError(308, 'NotPrimary', `this node is a backup; the primary is at ${primary}`, { location: `${primary}/node${request.path}` });
  });
  server.add('node', 'GET', '/backup', () => {
    if (node.isPrimary) throw new RpcError(404, 'ResourceNotFound', 'Node is not backup');
    return { status: 200 };
  });
  server.add('node', 'GET', '/consensus', () => ({ body: { details: consensusDetails(node) } }));
  // The latest committed snapshot (after `since`, if given), for joiners: CCF redirects to it by
  // name (308), and a backup sends the caller to the primary, whose snapshot the join will match.
  /** The primary's URL when this node is a backup that knows it. */
  const primaryOfBackup = () => (node.isPrimary ? undefined : options.primaryUrl());
  const findSnapshot = (request: RpcRequest) => {
    const since = sinceParameter(request, false);
    const primary = primaryOfBackup();
    if (primary !== undefined) {
      const location = `${primary}/node/snapshot${since > 0 ? `?since=${since}` : ''}`;
      throw new RpcError(308, 'NodeCannotHandleRequest', `this node is a backup; the primary at ${primary} has the snapshot to join from`, { location });
    }
    const serviceStart = node.serviceStartSeqno;
    const name = node.snapshots.latestCommittedName(Math.max(since, serviceStart - 1));
    // Recovered from its previous service's snapshot, the service writes its own at once (joiners retry).
    if (name === undefined && node.startupSeqno >= since && node.startupSeqno > 0 && node.startupSeqno < serviceStart) {
      throw new RpcError(503, 'NodeCannotHandleRequest', `this service was recovered from a snapshot of the previous service, which its joiners cannot verify, and has not committed one of its own yet: retry shortly`);
    }
    if (name === undefined) throw new RpcError(404, 'ResourceNotFound', `this node has no committed snapshot since seqno ${since}`);
    return redirectToOwn(node, options.interfaceName, `/node/snapshot/${name}`);
  };
  const getSnapshot = (request: RpcRequest) => {
    const name = request.params.snapshot_name!;
    const notFound = () => new RpcError(404, 'ResourceNotFound', `this node has no committed snapshot named ${name}`);
    let path: string;
    try {
      path = node.snapshots.pathToServe(name);
    } catch {
      throw notFound();
    }
    // The previous service's (a recovery started from it) is no snapshot of this service's.
    if (parseSnapshotFileName(name)!.seqno < node.serviceStartSeqno) {
      throw new RpcError(404, 'ResourceNotFound', `${name} is a snapshot of the service this one recovered, not of this service: GET /node/snapshot names this service's latest`);
    }
    return serveFile(request, path, { 'x-ms-ccf-snapshot-name': name }, notFound);
  };
  // Committed ledger chunks, for backups and audits: `since` (required) names a seqno, and the
  // answer redirects to the chunk holding it; a backup without it sends the caller to the primary.
  const findChunk = async (request: RpcRequest) => {
    const since = sinceParameter(request, true);
    if (since < 1) throw new RpcError(400, 'InvalidQueryParameterValue', `query parameter since must be a seqno from 1 (seqnos start at 1), got '${since}'`);
    const chunk = await committedChunkHolding(node.committedChunkDirectories, since);
    if (chunk !== undefined) return redirectToOwn(node, options.interfaceName, `/node/ledger-chunk/${chunk.name}`);
    // Before the snapshot this node started from it has no ledger: like CCF, it sends the caller
    // on to the next node by node ID (wrapping round), until one that has the chunk answers. A node
    // that started from no snapshot (startup seqno 0) holds all its ledger: it never sends one on.
    const fromSnapshot = node.startupSeqno > 0;
    const next = fromSnapshot && since <= node.startupSeqno ? nextNodeUrl(node, options.interfaceName) : undefined;
    if (next !== undefined) {
      const message = `this node has no committed ledger chunk holding seqno ${since}, before the snapshot at seqno ${node.startupSeqno} it started from; redirecting to the next node`;
      throw new RpcError(308, 'NodeCannotHandleRequest', message, { location: `${next}/node/ledger-chunk?since=${since}` });
    }
    const primary = primaryOfBackup();
    if (primary !== undefined) {
      throw new RpcError(308, 'NodeCannotHandleRequest', `this node has no committed ledger chunk holding seqno ${since}; redirecting to the primary`, { location: `${primary}/node/ledger-chunk?since=${since}` });
    }
    throw new RpcError(404, 'ResourceNotFound', `this node has no committed ledger chunk holding seqno ${since}`);
  };
  const getChunk = async (request: RpcRequest) => {
    const name = request.params.chunk_name!;
    const notFound = () => new RpcError(404, 'ResourceNotFound', `this node has no committed ledger chunk named ${name}`);
    const path = await committedChunkNamed(node.committedChunkDirectories, name);
    if (path === undefined) throw notFound();
    const answer = await serveFile(request, path, { 'x-ms-ccf-ledger-chunk-name': name }, notFound);
    return withEntityTag(request, answer);
  };
  // Like CCF, these serve files only on interfaces where the operator opted in (404 elsewhere).
  const requiring = (feature: OperatorFeature, handler: RpcHandler): RpcHandler => (request) => {
    if (options.operatorFeatures.has(feature)) return handler(request);
    throw new RpcError(
      404,
      'ResourceNotFound',
      `/node${request.path} needs the operator feature ${feature}, not enabled on this interface: add it to network.rpc_interfaces.${options.interfaceName}.enabled_operator_features`,
    );
  };
  for (const method of ['GET', 'HEAD']) {
    server.add('node', method, '/snapshot', requiring('SnapshotRead', findSnapshot));
    server.add('node', method, '/snapshot/{snapshot_name}', requiring('SnapshotRead', getSnapshot));
    server.add('node', method, '/ledger-chunk', requiring('LedgerChunkRead', findChunk));
    server.add('node', method, '/ledger-chunk/{chunk_name}', requiring('LedgerChunkRead', getChunk));
  }
  // CCF's 503 has no body; this one says why, as every error of Coco's (with its x-ms-error-code).
  const notRetired = () => {
    if (node.stopNotice) throw new RpcError(503, 'FrontendNotOpen', 'this node is retired from the service: stop it');
  };
  server.add('node', 'GET', '/ready/app', () => {
    notRetired();
    if (readService(node).status !== 'Open') throw new RpcError(503, 'FrontendNotOpen', 'the service is not open yet');
    return { status: 204 };
  });
  server.add('node', 'GET', '/ready/gov', () => {
    notRetired();
    return { status: 204 };
  });
  // CCF lists the indexing strategies its application installed; Coco's apps install none.
  server.add('node', 'GET', '/index/strategies', () => ({ body: [] }));
}

const NODE_STATUSES: readonly string[] = ['Pending', 'Trusted', 'Retired'] satisfies NodeStatus[];


/** Every entry of a table as the node's state holds it now (`tableEntries`). */
function readEntries<T>(node: Node, table: string, decode: (key: string, value: Uint8Array) => T): T[] {
  return node.execute((tx) => ({ result: tableEntries(tx, table, decode), applyWrites: false })).result;
}

/** The single value of a table, as the node's state holds it now. */
function readTable(node: Node, table: string): Uint8Array | undefined {
  return node.execute((tx) => ({ result: tx.map(table).get(SINGLETON), applyWrites: false })).result;
}

const nodeToNodeAddressOf = (info: NodeInfo | undefined) => (info && nodeToNodeAddress(info)) ?? null;

/**
 * CCF's `/node/consensus` details: configurations (by the seqno that set them; with one-transaction
 * reconfiguration that seqno is also their reconfiguration id) with node addresses, role, view,
 * primary, each other node of the configurations with what it last acknowledged (known on the
 * primary only), and as CCF's `get_details`, Retired with its retirement phase as soon as this
 * node's log holds a configuration without it.
 */
export function consensusDetails(node: Node): Record<string, unknown> {
  const records = new Map(nodeRecords(node).map((r) => [r.node_id, r.info]));
  const role = node.role;
  const retirementPhase = node.retirementPhase;
  const seqnos = node.configurationSeqnos;
  return {
    configs: node.configurations.map((configuration, i) => ({
      idx: seqnos[i],
      rid: seqnos[i],
      nodes: Object.fromEntries(configuration.map((id) => [id, { address: nodeToNodeAddressOf(records.get(id)) }])),
    })),
    acks: Object.fromEntries(node.acks.map(({ node: id, seqno, lastReceivedMs }) => [id, { seqno, last_received_ms: lastReceivedMs }])),
    membership_state: retirementPhase === undefined ? 'Active' : 'Retired',
    ...(retirementPhase !== undefined && { retirement_phase: retirementPhase }),
    // A retired node takes no part in elections: whatever it was doing when it learnt so is over.
    leadership_state: node.stopNotice ? 'Follower' : role.role === 'PreCandidate' ? 'Candidate' : role.role,
    primary_id: role.leaderId ?? null,
    current_view: role.view,
    ticking: true,
    reconfiguration_type: 'OneTransaction',
  };
}

const DEFAULT_RESPONSES = { default: { description: 'Default response' } };

/** An OpenAPI parameter object: OpenAPI identifies one by its name and location (`in`). */
interface OpenApiParameter {
  name: string;
  in: string;
  [field: string]: unknown;
}

/**
 * Whether CCF lists a built-in operation in the frontend's OpenAPI document: /gov/api lists the
 * common endpoints and the governance API's reads that declare their answer (service_state.h's,
 * with set_auto_schema; their answers are in builtin-response-schemas.ts), and hides the rest of
 * that API, whose full specification is its own (gov.json of api-version 2024-07-01); /node/api
 * lists all but the joining nodes' POST /node/join.
 */
function listedInOpenApi(frontend: Frontend, route: { method: string; path: string }, commonPaths: ReadonlySet<string>): boolean {
  if (frontend === 'gov') return route.method === 'GET' && (commonPaths.has(route.path) || builtinAnswer(route.method, route.path) !== undefined);
  return !(frontend === 'node' && route.method === 'POST' && route.path === '/join');
}

const query = (name: string, schema: Record<string, unknown>, required = false): OpenApiParameter => ({ name, in: 'query', required, schema });
const TRANSACTION_ID = query('transaction_id', TRANSACTION_ID_SCHEMA, true);

/**
 * The query parameters of built-in operations (GET and HEAD alike), by path, as CCF declares them
 * (add_query_parameter): a client built from the document must know to send the required ones.
 */
const QUERY_PARAMETERS: Readonly<Record<string, readonly OpenApiParameter[]>> = {
  '/commit': [query('view_history', { type: 'boolean' }), query('view_history_since', UINT64_SCHEMA)],
  '/tx': [TRANSACTION_ID],
  '/local_tx': [TRANSACTION_ID],
  '/receipt': [TRANSACTION_ID],
  '/snp/host_data': [query('key', { type: 'string' })],
  '/network/nodes': [query('host', { type: 'string' }), query('port', { type: 'string' }), query('status', { type: 'string', enum: NODE_STATUSES })],
  '/snapshot': [query('since', UINT64_SCHEMA)],
  '/ledger-chunk': [query('since', UINT64_SCHEMA, true)],
};

/** A governance read's query parameters: the api-version every /gov operation requires (CCF's document leaves it out), and javascript-app's `case`. */
function govReadParameters(path: string): OpenApiParameter[] {
  const versions = path.startsWith('/service/javascript-') ? GA_API_VERSIONS : GOV_API_VERSIONS;
  const apiVersion = query('api-version', { type: 'string', enum: versions }, true);
  return path === '/service/javascript-app' ? [apiVersion, query('case', { type: 'string', enum: ['original'] })] : [apiVersion];
}

/**
 * An OpenAPI operation on `path`: `fields`, with as `parameters` each `{name}` of the path (which
 * OpenAPI 3.0 requires of every templated path), then those `fields` lists.
 */
function operationOn(path: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const generated: OpenApiParameter[] = [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name: name!, in: 'path', required: true, schema: { type: 'string' } }));
  const { parameters: declared, ...rest } = fields;
  const parameters = mergeParameters(generated, declared);
  return { responses: DEFAULT_RESPONSES, ...rest, ...(parameters.length > 0 && { parameters }) };
}

/**
 * `generated`, then `declared` (an app's metadata, so anything): one declared replaces the one
 * before it of the same name and location, where that stands (an app describes its own path
 * parameters better); one that names none (a `$ref`) is added as it is; anything but a list
 * declares nothing.
 */
function mergeParameters(generated: readonly OpenApiParameter[], declared: unknown): unknown[] {
  const merged: unknown[] = [...generated];
  for (const parameter of Array.isArray(declared) ? (declared as unknown[]) : []) {
    const same = isParameter(parameter) ? merged.findIndex((p) => isParameter(p) && p.name === parameter.name && p.in === parameter.in) : -1;
    if (same >= 0) merged[same] = parameter;
    else merged.push(parameter);
  }
  return merged;
}

function isParameter(value: unknown): value is OpenApiParameter {
  const { name, in: location } = (value ?? {}) as { name?: unknown; in?: unknown };
  return typeof name === 'string' && typeof location === 'string';
}

/**
 * CCF's OpenAPI security schemes, by policy name. OpenAPI 3.0 cannot describe TLS client
 * certificates, so, as in CCF, the certificate policies (and `all_of`) have none.
 */
const SECURITY_SCHEMES: Readonly<Record<string, Record<string, string>>> = {
  jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
  user_cose_sign1: { type: 'http', scheme: 'cose_sign1', description: 'Request payload must be a COSE Sign1 document, with expected protected headers. Signer must be a user identity registered with this service.' },
  member_cose_sign1: { type: 'http', scheme: 'cose_sign1', description: 'Request payload must be a COSE Sign1 document, with expected protected headers. Signer must be a member identity registered with this service.' },
};

/**
 * The operation's `security` (each policy an alternative), adding the schemes it names to `schemes`;
 * `{}`, no requirement, for `no_auth`, as CCF marks its own endpoints that take unauthenticated calls.
 */
function securityOf(policies: readonly unknown[] | undefined, schemes: Record<string, unknown>): Record<string, string[]>[] {
  const named = (policies ?? []).filter((policy): policy is string => typeof policy === 'string' && SECURITY_SCHEMES[policy] !== undefined);
  for (const name of named) schemes[name] = SECURITY_SCHEMES[name];
  const security: Record<string, string[]>[] = named.map((name) => ({ [name]: [] }));
  return named.length > 0 && policies!.includes('no_auth') ? [...security, {}] : security;
}

/**
 * The frontend's OpenAPI 3 document, paths relative to its prefix (`servers`): the built-in
 * endpoints CCF lists, with their query parameters and answers (their schemas in
 * `components.schemas`), and under `/app` the installed application's endpoints with the operation objects
 * their `openapi` metadata gives (those with `openapi_hidden` left out) and the security schemes
 * of their policies, as CCF merges them.
 */
function openApiDocument(server: RpcServer, node: Node, frontend: Frontend, version: string, commonPaths: ReadonlySet<string>): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const securitySchemes: Record<string, unknown> = {};
  for (const route of server.routes.get(frontend)!.list()) {
    if (!listedInOpenApi(frontend, route, commonPaths)) continue;
    const parameters = frontend === 'gov' && !commonPaths.has(route.path) ? govReadParameters(route.path) : QUERY_PARAMETERS[route.path];
    // Its answer where it has one (builtin-response-schemas.ts), then `default`, as CCF lists them.
    const responses = { ...builtinAnswer(route.method, route.path), ...DEFAULT_RESPONSES };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOn(route.path, { responses, ...(parameters && { parameters }) });
  }
  if (frontend === 'app') {
    node.execute((tx) => {
      tx.map(Tables.endpoints).forEach((value, key) => {
        const { method, path } = splitEndpointKey(fromUtf8(key));
        const info = decodeJson<Pick<EndpointInfo, 'openapi' | 'openapi_hidden' | 'authn_policies'>>(value, Tables.endpoints);
        if (info.openapi_hidden === true) return;
        const security = securityOf(info.authn_policies, securitySchemes);
        (paths[path] ??= {})[method.toLowerCase()] = operationOn(path, { ...(security.length > 0 && { security }), ...info.openapi });
      });
      return { result: undefined, applyWrites: false };
    });
  }
  return {
    openapi: '3.0.0',
    info: { title: `Coco ${frontend} frontend`, version },
    servers: [{ url: `/${frontend}` }],
    paths,
    components: { schemas: schemasReferencedBy(Object.values(paths)), ...(Object.keys(securitySchemes).length > 0 && { securitySchemes }) },
  };
}
