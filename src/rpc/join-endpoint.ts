// `POST /node/join`: a new node asks to join the service, presenting its self-signed certificate as
// TLS client certificate and its attestation. The primary checks the attestation against the
// governance tables (CCF's steps for the virtual platform: host data and measurement allowed,
// report data binding the key of the TLS client certificate), then records the node: Trusted at
// once while the service is Opening, Pending (until members pass transition_node_to_trusted) once
// it is Open; while a recovered service is Recovering, Pending until its first request after the
// opening (recovery-joiners.ts). A Trusted joiner gets what it needs to take part: the ledger
// secrets, the service identity and its certificate endorsed by the service. A node already
// recorded that asks again is answered the same way, if it asks from its recorded addresses. The
// body and answer follow CCF's JoinNetworkNodeToNode shapes; the secrets travel over this TLS
// connection, which the joiner opened to a node whose certificate the service endorsed.

import { toBase64, utf8 } from '../crypto/bytes.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { derToPem } from '../crypto/pem.js';
import { parseCertificate } from '../crypto/x509.js';
import { verifyVirtualQuote, type QuoteInfo } from '../attestation/virtual-attestation.js';
import { encodeJson, Tables, virtualJoinPolicy, type NodeInfo } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import type { LedgerSecrets } from '../ledger/ledger-secrets.js';
import type { ServiceIdentity } from '../node/identities.js';
import { formatTxId } from '../ledger/tx-id.js';
import { logLine } from '../node/buffered-log.js';
import { askedWhileRecovering } from '../node/recovery-joiners.js';
import type { Node } from '../node/node.js';
import { interfaceNameMismatch, nodeRecords, nodeToNodeAddress, publishedRpcAddresses } from '../node/service-nodes.js';
import { publishedAddressChanges } from '../node/published-address-changes.js';
import { CocoError } from '../errors.js';
import { RpcError } from './rpc-error.js';
import { parseNodeInfoNetwork, type NodeInfoNetwork } from './node-info-network.js';
import { requireServiceInfo } from './service-info.js';
import type { RpcRequest, RpcServer } from './rpc-server.js';
import { jsonNestingExceeds } from '../js/json-nesting.js';

export interface JoinRequest {
  node_info_network: NodeInfoNetwork;
  quote_info: QuoteInfo;
  public_encryption_key?: string;
  certificate_signing_request: string;
  node_data?: unknown;
  /** The seqno of the snapshot the joiner starts from, 0 without one (CCF's startup_seqno); absent from older joiners. */
  startup_seqno?: number;
}

export interface JoinResponse {
  node_status: 'Pending' | 'Trusted';
  node_id: string;
  network_info?: {
    public_only: false;
    service_status: string;
    endorsed_certificate: string;
    identity: { cert: string; priv_key: string; pub_key: string };
    ledger_secrets: { from_seqno: number; key: string }[];
    /** Where the service's nodes listen for each other, until the joiner's log tells it. */
    node_to_node_addresses: Record<string, string>;
  };
}

export interface JoinEndpointOptions {
  service: ServiceIdentity;
  secrets: LedgerSecrets;
  /** Issues the joiner's node certificate from its CSR. */
  endorse(csrPem: string): string;
  primaryUrl(): string | undefined;
}

/**
 * The most a join's node_data may hold (its JSON), and a join request in all. Anyone who reaches a
 * node can post a join that passes the virtual platform's checks, and each admitted one stays in
 * every node's ledger for good, Pending until members remove it: without these bounds, 100 joins of
 * 1 MiB (the default body limit, all that bounds them in CCF) added 100 MB to each. node_data is an
 * operator's label for the node (a host name, a VM ID), a few hundred bytes; the rest of a real
 * request (CSR, attestation, keys, interfaces) is a few KiB.
 */
export const NODE_DATA_BYTES_MAX = 64 * 1024;
export const JOIN_REQUEST_BYTES_MAX = 2 * NODE_DATA_BYTES_MAX;
/**
 * Levels of arrays and objects a join request may nest. What it sends is stored in the nodes table,
 * which the constitution parses for every node (counting Trusted ones, renewing certificates): a
 * record nested past what its JSON.parse takes (JSON_NESTING_MAX) would fail every such proposal for
 * good. A real request nests a handful of levels.
 */
export const JOIN_REQUEST_NESTING_MAX = 32;

function parseJoinRequest(body: Uint8Array): JoinRequest {
  if (body.length > JOIN_REQUEST_BYTES_MAX) {
    throw new RpcError(413, 'LimitExceeded', `the join request body is ${body.length} bytes, over the ${JOIN_REQUEST_BYTES_MAX} bytes a join may send; node_data may hold at most ${NODE_DATA_BYTES_MAX} bytes of JSON`);
  }
  const text = new TextDecoder().decode(body);
  let json: Partial<JoinRequest>;
  try {
    json = JSON.parse(text) as Partial<JoinRequest>;
  } catch {
    throw new RpcError(400, 'InvalidInput', 'the join request body is not JSON');
  }
  if (jsonNestingExceeds(text, JOIN_REQUEST_NESTING_MAX)) {
    throw new RpcError(400, 'InvalidInput', `the join request nests arrays and objects deeper than ${JOIN_REQUEST_NESTING_MAX} levels; keep node_data to a flat label for the node`);
  }
  const bad = (what: string): never => {
    throw new RpcError(400, 'InvalidInput', `the join request needs ${what}`);
  };
  if (typeof json !== 'object' || json === null) bad('a JSON object');
  if (typeof json.quote_info !== 'object' || json.quote_info === null) bad('quote_info');
  if (typeof json.certificate_signing_request !== 'string') bad('certificate_signing_request (PEM)');
  if (json.startup_seqno !== undefined && !(Number.isSafeInteger(json.startup_seqno) && json.startup_seqno >= 0)) bad('startup_seqno, when given, to be a seqno (0 without a snapshot)');
  const nodeDataBytes = utf8(JSON.stringify(json.node_data ?? null)).length;
  if (nodeDataBytes > NODE_DATA_BYTES_MAX) {
    throw new RpcError(413, 'LimitExceeded', `the join request's node_data is ${nodeDataBytes} bytes of JSON, over the limit of ${NODE_DATA_BYTES_MAX}: keep node_data to a label for the node (a host name, a VM ID)`);
  }
  return { ...(json as JoinRequest), node_info_network: parseNodeInfoNetwork(json.node_info_network) };
}

/** Whether the service's committed state records `nodeId` as Trusted. */
function trustedCommitted(node: Node, nodeId: string): boolean {
  return node.execute((tx) => {
    const key = utf8(nodeId);
    const version = tx.map(Tables.nodesInfo).getVersionOfPreviousWrite(key);
    const trusted = nodeRecords(tx).get(nodeId)?.status === 'Trusted' && version !== undefined && version <= BigInt(node.commitTxId.seqno);
    return { result: trusted, applyWrites: false };
  }).result;
}

export function addJoinEndpoint(server: RpcServer, node: Node, options: JoinEndpointOptions): void {
  const networkInfo = (tx: Transaction, nodeId: string): JoinResponse['network_info'] => ({
    public_only: false,
    service_status: requireServiceInfo(tx).status,
    endorsed_certificate: new TextDecoder().decode(tx.map(Tables.nodesEndorsedCertificates).get(utf8(nodeId))),
    identity: { cert: options.service.certPem, priv_key: options.service.keyPair.privateKeyPem, pub_key: options.service.keyPair.publicKeyPem },
    ledger_secrets: options.secrets.all().map((secret) => ({ from_seqno: secret.fromSeqno, key: toBase64(secret.key) })),
    node_to_node_addresses: Object.fromEntries(
      [...nodeRecords(tx)].flatMap(([id, info]) => {
        // The nodes a joiner hears from before it knows a configuration: not Pending ones (any caller
        // of /node/join records one, at an address of its choosing), nor Retired ones.
        const address = info.status === 'Trusted' ? nodeToNodeAddress(info) : undefined;
        return address === undefined ? [] : [[id, address]];
      }),
    ),
  });

  server.add('node', 'POST', '/join', (request: RpcRequest) => {
    // As in CCF, a node the service already trusts gets its answer from any node, backups included: a
    // joiner trusted just before the primary died must still start, or the configuration that counts
    // it may have no majority to elect another primary. Only once the trust is committed: a backup's
    // state may hold entries a new primary rolls back. The primary answers from its state, committed
    // or not, as CCF's: the entry that trusts the joiner adds it to the configuration, whose majority
    // may need the joiner's acknowledgement (one node growing to two), so the joiner must start first.
    if (!node.isPrimary && !(request.clientCert !== undefined && trustedCommitted(node, publicKeyId(request.clientCert.pem)))) {
      const primary = options.primaryUrl();
      if (primary === undefined && node.stopNotice) throw node.retiredError('knows no primary to join through');
      if (primary === undefined) throw new RpcError(503, 'NodeCannotHandleRequest', 'this node is a backup and no primary is known; retry shortly');
      throw new RpcError(308, 'NotPrimary', `this node is a backup; join through the primary at ${primary}`, { location: `${primary}/node/join` });
    }
    if (request.clientCert === undefined) throw new RpcError(401, 'InvalidAuthenticationInfo', 'a joining node presents its self-signed node certificate as TLS client certificate');
    const joinRequest = parseJoinRequest(request.body);
    // Recovered from the previous service's snapshot, the service has none a joiner can start from
    // until it opens and writes its own: such a joiner waits (then refused as starting too early,
    // it fetches that snapshot and asks again).
    if (node.recovering && (joinRequest.startup_seqno ?? 0) < node.startupSeqno) {
      throw new RpcError(503, 'ServiceRecovering', 'the service is recovering from a snapshot of the previous service and has none of its own for a joiner to start from until it opens; retry then');
    }
    checkStartupSeqno(node.startupSeqno, joinRequest.startup_seqno);
    const nodeId = publicKeyId(request.clientCert.pem);
    let serviceStatus: string | undefined;
    let trustedAfterRecovery = false;
    const { result, txId: recordTxId } = node.execute((tx): { result: JoinResponse; applyWrites: boolean } => {
      const records = nodeRecords(tx);
      checkInterfaceNames(joinRequest.node_info_network, records.get(node.nodeId));
      const existing = records.get(nodeId);
      if (existing !== undefined) {
        if (existing.status === 'Retired') throw new RpcError(403, 'NodeRetired', `node ${nodeId} was retired from this service; start a new node (a new key) to join again`);
        refuseKnownNodeElsewhere(node.nodeId, nodeId, existing, joinRequest.node_info_network);
        const csrPem = existing.certificate_signing_request;
        if (existing.status === 'Pending' && csrPem !== undefined && requireServiceInfo(tx).status === 'Open' && askedWhileRecovering(tx, nodeId)) {
          trustedAfterRecovery = true;
          tx.map(Tables.nodesInfo).set(utf8(nodeId), encodeJson({ ...existing, status: 'Trusted', ledger_secret_seqno: options.secrets.latestFromSeqno }));
          tx.map(Tables.nodesEndorsedCertificates).set(utf8(nodeId), utf8(options.endorse(csrPem)));
          return { result: { node_status: 'Trusted', node_id: nodeId, network_info: networkInfo(tx, nodeId) }, applyWrites: true };
        }
        const status = existing.status;
        return { result: { node_status: status, node_id: nodeId, ...(status === 'Trusted' && { network_info: networkInfo(tx, nodeId) }) }, applyWrites: false };
      }
      try {
        verifyVirtualQuote(joinRequest.quote_info, request.clientCert!.pem, virtualJoinPolicy(tx));
      } catch (error) {
        if (error instanceof CocoError) {
          logLine('warn', `coco node ${node.nodeId.slice(0, 12)}: refused node ${nodeId} joining: its attestation was refused: ${error.message}`);
          throw new RpcError(403, 'InvalidQuote', `the joining node's attestation was refused: ${error.message}`);
        }
        throw error;
      }
      const address = joinRequest.node_info_network.node_to_node_interface.published_address;
      for (const [id, info] of records) {
        if (info.status !== 'Retired' && nodeToNodeAddress(info) === address) {
          throw new RpcError(400, 'NodeAlreadyExists', `node ${id} already uses the node-to-node address ${address}`);
        }
      }
      const endorsed = options.endorse(joinRequest.certificate_signing_request);
      if (publicKeyId(endorsed) !== nodeId) throw new RpcError(400, 'InvalidInput', 'the CSR is not for the key of the TLS client certificate');
      // A recovering service holds no secret of the previous service's entries to give a joiner yet:
      // one that asks while it is Recovering (CCF trusts it at once) waits Pending (recovery-joiners.ts).
      serviceStatus = requireServiceInfo(tx).status;
      const status = serviceStatus === 'Opening' ? 'Trusted' : 'Pending';
      const info: NodeInfo = {
        status,
        node_data: joinRequest.node_data ?? null,
        public_key: publicKeyPemOf(request.clientCert!.pem),
        certificate_signing_request: joinRequest.certificate_signing_request,
        ...(joinRequest.public_encryption_key && { encryption_pub_key: joinRequest.public_encryption_key }),
        quote_info: joinRequest.quote_info,
        rpc_interfaces: joinRequest.node_info_network.rpc_interfaces,
        node_to_node_interface: joinRequest.node_info_network.node_to_node_interface,
        ledger_secret_seqno: options.secrets.latestFromSeqno,
      };
      tx.map(Tables.nodesInfo).set(utf8(nodeId), encodeJson(info));
      if (status === 'Trusted') tx.map(Tables.nodesEndorsedCertificates).set(utf8(nodeId), utf8(endorsed));
      return { result: { node_status: status, node_id: nodeId, ...(status === 'Trusted' && { network_info: networkInfo(tx, nodeId) }) }, applyWrites: true };
    });
    // As CCF's "Node {} added as {}": once, when the record is written, not on the joiner's polls after.
    if (recordTxId !== undefined && trustedAfterRecovery) {
      logLine('info', `coco node ${node.nodeId.slice(0, 12)}: node ${nodeId}, which asked to join while the service was Recovering, was trusted at ${formatTxId(recordTxId)} on its first request since the opening`);
    } else if (recordTxId !== undefined) {
      const next = result.node_status !== 'Pending' ? '' : serviceStatus === 'Recovering' ? '; it is trusted on its first request once the recovered service opens' : '; members trust it with transition_node_to_trusted';
      logLine('info', `coco node ${node.nodeId.slice(0, 12)}: node ${nodeId} joined (POST /node/join) and was added as ${result.node_status} at ${formatTxId(recordTxId)}${next}`);
    }
    return { body: result };
  });
}

/**
 * A primary sends a follower only what its log holds, which starts after the snapshot it started
 * from: a joiner starting before that (from an older snapshot, or none) could never catch up, yet
 * once trusted it would count toward every quorum. CCF refuses it the same way (node_frontend.h).
 */
function checkStartupSeqno(primaryStartupSeqno: number, joinerStartupSeqno: number | undefined): void {
  if (joinerStartupSeqno === undefined || joinerStartupSeqno >= primaryStartupSeqno) return;
  const from = joinerStartupSeqno === 0 ? 'without a snapshot (startup_seqno 0)' : `from snapshot at seqno ${joinerStartupSeqno}`;
  throw new RpcError(
    400,
    'StartupSeqnoIsOld',
    `node requested to join ${from}, which is older than this node's startup seqno ${primaryStartupSeqno}: this node's log starts after it, so the joiner could never catch up. ` +
      `Enable "SnapshotRead" in enabled_operator_features of the target's RPC interface, so that the joiner fetches the service's snapshot, ` +
      `or copy a committed snapshot at or after seqno ${primaryStartupSeqno} (a node's snapshots directory, or GET /node/snapshot where SnapshotRead is enabled) into the joiner's snapshots.directory; then start the joiner again`,
  );
}

/**
 * A known node asks again (a joiner polling while Pending, or one trusted that stopped before it
 * wrote an entry) from the addresses recorded for it. The same identity at other addresses is
 * another process holding a copy of the node's sealed key: admitted, it would run as that node
 * beside it, two voters with one identity that could elect two primaries in one view. (CCF answers
 * a known node whatever its addresses, but there a node's key never leaves its enclave.)
 */
function refuseKnownNodeElsewhere(selfId: string, nodeId: string, record: NodeInfo, network: NodeInfoNetwork): void {
  const changes = publishedAddressChanges(record, {
    nodeToNode: network.node_to_node_interface.published_address,
    rpc: new Map(Object.entries(network.rpc_interfaces).map(([name, iface]) => [name, iface.published_address])),
  });
  if (changes.length === 0) return;
  const moved = `node ${nodeId} is already a ${record.status} node of this service, recorded at other addresses than this join request gives: ${changes.join(', ')}`;
  logLine('warn', `coco node ${selfId.slice(0, 12)}: refused a join as ${moved} (a copy of that node's sealed_secrets.json?)`);
  throw new RpcError(
    400,
    'NodeAlreadyExists',
    `${moved}. A node keeps the addresses it joined with: to start that node again, give it the recorded ones; ` +
      'a node at new addresses joins as a new node, with a new identity (start it without the old node\'s sealed_secrets.json), and members remove the old one (remove_node)',
  );
}

/**
 * A backup finds the primary's interface by its own interface's name: a joiner none of whose
 * interfaces the primary has by name could never redirect a write (it would answer 503, and joins
 * through it would stall). One that shares a name is admitted, so interfaces can be added node by node.
 */
function checkInterfaceNames(joiner: NodeInfoNetwork, primary: NodeInfo | undefined): void {
  const names = Object.keys(joiner.rpc_interfaces);
  // A record without interfaces (an in-process test node's) has nothing to match.
  if (primary === undefined || names.length === 0 || publishedRpcAddresses(primary).size === 0) return;
  const mismatches = names.map((name) => interfaceNameMismatch(name, primary, 'primary'));
  if (mismatches.some((mismatch) => mismatch === undefined)) return;
  throw new RpcError(400, 'InvalidInput', `the joining node could not redirect to the primary: ${mismatches[0]}`);
}

function publicKeyPemOf(certPem: string): string {
  return derToPem(parseCertificate(certPem).publicKeyDer, 'PUBLIC KEY');
}
