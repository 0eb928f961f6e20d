// CCF's governance REST API (api-version 2024-07-01; 2023-06-01-preview accepted): proposals and
// ballots signed with COSE Sign1, member state digests and acks, and read-only views of the
// service's governance tables in the API's camelCase shapes.

import { parseVirtualQuote, VIRTUAL_FORMAT, type QuoteInfo } from '../attestation/virtual-attestation.js';
import { fromBase64, fromUtf8, utf8 } from '../crypto/bytes.js';
import { derToPem } from '../crypto/pem.js';
import { decodeJson, readServiceConfig, readServiceInfo, SINGLETON, tableEntries, Tables, type MemberInfo, type NodeInfo } from '../governance/builtin-tables.js';
import { ackStateDigest, getStateDigest, updateStateDigest } from '../governance/member-acks.js';
import { jwtKeyIds, jwtKeysOfKid } from '../governance/gov-effects.js';
import { authenticateMemberCose, type GovMessageType, type MemberCoseIdentity } from '../governance/member-cose-identity.js';
import { proposalView, type Governance, type ProposalInfo } from '../governance/proposals.js';
import type { Transaction } from '../kv/transaction.js';
import { splitEndpointKey } from '../js/app-bundle.js';
import { formatTxId } from '../ledger/tx-id.js';
import type { Node } from '../node/node.js';
import { CERTIFICATE_VALIDITY_DAYS_MAX, RECENT_COSE_PROPOSALS_WINDOW_DEFAULT } from '../node/genesis.js';
import { publishedRpcAddresses } from '../node/service-nodes.js';
import { encryptedShareOf, isActiveRecoveryMember } from '../governance/recovery-shares.js';
import { clearSubmittedRecoveryShares, completesRecoveryShares, isFullKey, submissionMessage, submitRecoveryShare } from '../governance/submitted-shares.js';
import { CocoError, invariant } from '../errors.js';
import { memberCoseSigner } from './authentication.js';
import { RpcError } from './rpc-error.js';
import { requireTransactionId } from './transaction-id-parameter.js';
import type { RpcRequest, RpcResponse, RpcServer } from './rpc-server.js';

export const GOV_API_VERSIONS = ['2024-07-01', '2023-06-01-preview'];
/** The routes CCF added with 2024-07-01 (the JS app and its modules) have no preview version. */
export const GA_API_VERSIONS = GOV_API_VERSIONS.slice(0, 1);

/** CCF's words, which list the versions oldest first. */
function checkApiVersion(request: RpcRequest, versions: string[]): void {
  const version = request.query.get('api-version');
  const supported = `The supported api-versions are: ${[...versions].sort().join(', ')}`;
  if (version === null) throw new RpcError(400, 'MissingApiVersionParameter', `The api-version query parameter (?api-version=) is required for this request. ${supported}`);
  if (!versions.includes(version)) throw new RpcError(400, 'UnsupportedApiVersionValue', `Unsupported api-version '${version}'. ${supported}`);
}

/** As CCF's member COSE Sign1 policy: the content type is part of authentication, so a wrong one is a 401. */
function checkCose(request: RpcRequest): void {
  const type = request.headers['content-type'];
  if (type === undefined) throw new CocoError('InvalidAuthenticationInfo', 'Missing content-type header');
  if (type !== 'application/cose') throw new CocoError('InvalidAuthenticationInfo', 'Content type is not set to application/cose');
}

/** Entity IDs in CCF's governance URLs: SHA-256 digests in hex, 64 digits of either case. */
const HEX_ID = /^[0-9a-fA-F]{64}$/;

/** A path parameter that must be an entity ID, or 400 InvalidResourceName as CCF answers. */
function idParam(request: RpcRequest, name: 'proposalId' | 'memberId' | 'userId' | 'nodeId'): string {
  const value = request.params[name];
  invariant(value !== undefined, `the route declares {${name}}`);
  const what = name.slice(0, -2);
  if (!HEX_ID.test(value)) throw new RpcError(400, 'InvalidResourceName', `'${value}' is not a valid hex-encoded ${what} ID`);
  return value;
}

/** The URL's proposal ID, which must be the one the request signs (ballots, withdrawals). */
function signedProposalId(request: RpcRequest, identity: MemberCoseIdentity): string {
  const proposalId = idParam(request, 'proposalId');
  if (identity.proposalId !== proposalId) throw new RpcError(400, 'InvalidResourceName', 'Authenticated proposal id does not match URL');
  return proposalId;
}

/** The URL's member ID, which must be the signer's (ballots). */
function signedMemberId(request: RpcRequest, identity: MemberCoseIdentity): string {
  const memberId = idParam(request, 'memberId');
  if (identity.memberId !== memberId) throw new RpcError(400, 'InvalidResourceName', 'Authenticated member id does not match URL');
  return memberId;
}

/** State digests: CCF takes the URL's member ID as it is, and answers 400 InvalidAuthenticationInfo if it is not the signer's. */
function checkDigestSigner(request: RpcRequest, identity: MemberCoseIdentity): void {
  const memberId = request.params.memberId;
  invariant(memberId !== undefined, 'the route declares {memberId}');
  if (memberId !== identity.memberId) {
    throw new RpcError(400, 'InvalidAuthenticationInfo', `Member ID from path parameter (${memberId}) does not match member ID from body signature (${identity.memberId}).`);
  }
}

/** The raw share of a `recovery_share` message's `{"share": "<base64>"}`. */
function shareOf(content: Uint8Array): Uint8Array {
  let body: unknown;
  try {
    body = JSON.parse(fromUtf8(content));
  } catch {
    body = undefined;
  }
  const share = (body as { share?: unknown } | undefined)?.share;
  if (typeof share !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(share)) {
    throw new RpcError(400, 'InvalidInput', 'The body must be {"share": "<base64>"}: the share decrypted with your encryption key (GET /gov/recovery/encrypted-shares/{memberId}), in base64.');
  }
  return fromBase64(share);
}

type Reader<T> = (tx: Transaction) => T;

function memberView(tx: Transaction, memberId: string): Record<string, unknown> | undefined {
  const cert = tx.map(Tables.membersCerts).get(utf8(memberId));
  const infoBytes = tx.map(Tables.membersInfo).get(utf8(memberId));
  if (cert === undefined || infoBytes === undefined) return undefined;
  const info = decodeJson<MemberInfo>(infoBytes, Tables.membersInfo);
  const encryptionKey = tx.map(Tables.membersEncryptionPublicKeys).get(utf8(memberId));
  return {
    memberId,
    status: info.status,
    memberData: info.member_data ?? null,
    certificate: fromUtf8(cert),
    ...(encryptionKey === undefined ? {} : { publicEncryptionKey: fromUtf8(encryptionKey) }),
    recoveryRole: info.recovery_role ?? (encryptionKey === undefined ? 'NonParticipant' : 'Participant'),
  };
}

function userView(tx: Transaction, userId: string): Record<string, unknown> | undefined {
  const cert = tx.map(Tables.usersCerts).get(utf8(userId));
  if (cert === undefined) return undefined;
  const info = tx.map(Tables.usersInfo).get(utf8(userId));
  return { userId, certificate: fromUtf8(cert), userData: info === undefined ? null : (decodeJson<{ user_data?: unknown }>(info, Tables.usersInfo).user_data ?? null) };
}

/** A node's quote as CCF's governance API shows it: a virtual quote with the evidence it carries. */
function quoteInfoView(quote: QuoteInfo): Record<string, unknown> {
  const view: Record<string, unknown> = { format: quote.format, rawQuote: quote.quote };
  if (quote.format !== VIRTUAL_FORMAT) return view;
  const evidence = parseVirtualQuote(quote);
  return { ...view, details: { measurement: evidence.measurement, reportData: evidence.report_data, hostData: evidence.host_data } };
}

function nodeView(tx: Transaction, nodeId: string): Record<string, unknown> | undefined {
  const infoBytes = tx.map(Tables.nodesInfo).get(utf8(nodeId));
  if (infoBytes === undefined) return undefined;
  const info = decodeJson<NodeInfo>(infoBytes, Tables.nodesInfo);
  const cert = tx.map(Tables.nodesEndorsedCertificates).get(utf8(nodeId));
  return {
    nodeId,
    status: info.status,
    nodeData: info.node_data ?? null,
    certificate: cert === undefined ? '' : fromUtf8(cert),
    retiredCommitted: info.retired_committed ?? false,
    quoteInfo: quoteInfoView(info.quote_info),
    rpcInterfaces: Object.fromEntries([...publishedRpcAddresses(info)].map(([name, address]) => [name, { publishedAddress: address, protocol: info.rpc_interfaces[name]!.app_protocol }])),
  };
}

function found<T>(value: T | undefined, what: string): T {
  return value ?? notFound(`${what} not found`);
}

function notFound(message: string): never {
  throw new RpcError(404, 'ResourceNotFound', message);
}

export function addGovEndpoints(server: RpcServer, node: Node, governance: Governance): void {
  const read = <T>(reader: Reader<T>): T => node.execute((tx) => ({ result: reader(tx), applyWrites: false })).result;
  // As CCF's governance API, which writes its JSON whatever the request's Accept header says.
  const get = (path: string, handler: (request: RpcRequest) => RpcResponse, versions = GOV_API_VERSIONS) =>
    server.add(
      'gov',
      'GET',
      path,
      (request) => {
        checkApiVersion(request, versions);
        return handler(request);
      },
      { ignoresAccept: true },
    );
  /** A COSE-signed write: authenticated and applied in one transaction. */
  const signed = (path: string, msgType: GovMessageType, requireActive: boolean, body: (tx: Transaction, request: RpcRequest, identity: MemberCoseIdentity) => RpcResponse) =>
    server.add('gov', 'POST', path, (request) => {
      // Every signed request writes: a backup redirects it before it looks anything up, which it
      // may not hold yet (a proposal just created on the primary), as CCF forwards it first.
      node.checkCanWrite();
      const { result, txId } = node.execute((tx) => {
        const identity = memberCoseSigner(() => {
          checkCose(request);
          return authenticateMemberCose(tx, request.body, { msgType, requireActive });
        }, requireActive);
        // In CCF the frontend authenticates and the handler (api_version_adapter) reads the
        // api-version: a request that is not signed is 401 whatever its api-version.
        checkApiVersion(request, GOV_API_VERSIONS);
        return { result: body(tx, request, identity), applyWrites: true };
      });
      return { ...result, txId: txId ?? node.lastTxId };
    });

  get('/members/proposals', () => ({
    body: { value: read((tx) => tableEntries(tx, Tables.proposalsInfo, (id, v) => proposalView(id, decodeJson<ProposalInfo>(v, Tables.proposalsInfo)))) },
  }));
  signed('/members/proposals:create', 'proposal', true, (tx, _request, identity) => ({ body: governance.create(tx, identity, node.merkleRoot()) }));
  get('/members/proposals/{proposalId}', (request) => {
    const id = idParam(request, 'proposalId');
    const info = read((tx) => governance.readInfo(tx, id));
    if (info === undefined) throw new RpcError(404, 'ProposalNotFound', `Could not find proposal ${id}.`);
    return { body: proposalView(id, info) };
  });
  get('/members/proposals/{proposalId}/actions', (request) => {
    const id = idParam(request, 'proposalId');
    const proposal = read((tx) => tx.map(Tables.proposals).get(utf8(id)));
    if (proposal === undefined) throw new RpcError(404, 'ProposalNotFound', `Could not find proposal ${id}.`);
    return { body: proposal, headers: { 'content-type': 'application/json' } };
  });
  signed('/members/proposals/{proposalId}:withdraw', 'withdrawal', true, (tx, request, identity) => {
    const view = governance.withdraw(tx, identity, signedProposalId(request, identity));
    return view === undefined ? { status: 204 } : { body: view };
  });
  signed('/members/proposals/{proposalId}/ballots/{memberId}:submit', 'ballot', true, (tx, request, identity) => {
    const proposalId = signedProposalId(request, identity);
    signedMemberId(request, identity);
    return { body: governance.submitBallot(tx, identity, proposalId) };
  });
  get('/members/proposals/{proposalId}/ballots/{memberId}', (request) => {
    const proposalId = idParam(request, 'proposalId');
    const memberId = idParam(request, 'memberId');
    const info = read((tx) => governance.readInfo(tx, proposalId));
    if (info === undefined) throw new RpcError(404, 'ProposalNotFound', `Proposal ${proposalId} does not exist.`);
    const ballot = info.ballots[memberId];
    if (ballot === undefined) throw new RpcError(404, 'VoteNotFound', `Member ${memberId} has not voted for proposal ${proposalId}.`);
    return { body: ballot, headers: { 'content-type': 'text/javascript' } };
  });
  get('/members/state-digests/{memberId}', (request) => ({ body: read((tx) => getStateDigest(tx, request.params.memberId!)) }));
  signed('/members/state-digests/{memberId}:update', 'state_digest', false, (tx, request, identity) => {
    checkDigestSigner(request, identity);
    return { body: updateStateDigest(tx, identity) };
  });
  signed('/members/state-digests/{memberId}:ack', 'ack', false, (tx, request, identity) => {
    checkDigestSigner(request, identity);
    const memberId = identity.memberId;
    // As CCF: a recovery member that becomes Active once the service is open gets a share at once.
    if (ackStateDigest(tx, identity) && readServiceInfo(tx)?.status === 'Open' && isActiveRecoveryMember(tx, memberId)) node.refreshRecoveryShares(tx);
    return { status: 204 };
  });

  get('/recovery/encrypted-shares/{memberId}', (request) => {
    const memberId = idParam(request, 'memberId');
    const share = read((tx) => encryptedShareOf(tx, memberId));
    if (share === undefined) throw new RpcError(404, 'ResourceNotFound', `Recovery share not found for member ${memberId}.`);
    return { body: { memberId, encryptedShare: share } };
  });
  // A recovered service waits for its members' shares (after transition_service_to_open); the one
  // that reaches the threshold restores the previous service's ledger secrets, and the node opens
  // the service once that transaction commits. Shares that do not restore them are all dropped, as
  // CCF drops them, and the members submit again.
  signed('/recovery/members/{memberId}:recover', 'recovery_share', true, (tx, request, identity) => {
    const status = readServiceInfo(tx)?.status ?? 'not started';
    if (status !== 'WaitingForRecoveryShares') throw new RpcError(403, 'ServiceNotWaitingForRecoveryShares', `Service is not waiting for recovery shares. It is ${status}.`);
    if (node.readingPrivateLedger) throw new RpcError(403, 'NodeAlreadyRecovering', 'Node is already recovering private ledger.');
    checkDigestSigner(request, identity);
    const share = shareOf(identity.content);
    const submitted = submitRecoveryShare(tx, identity.memberId, share, node.latestLedgerSecret);
    const threshold = readServiceConfig(tx)?.recovery_threshold ?? 0;
    const fullKey = isFullKey(share);
    if (completesRecoveryShares(submitted, threshold, fullKey)) {
      try {
        node.restorePreviousLedgerSecrets(tx);
      } catch (error) {
        if (!(error instanceof CocoError)) throw error;
        clearSubmittedRecoveryShares(tx);
        return { status: 500, body: { error: { code: 'InternalError', message: `Failed to initiate private recovery: ${error.message}. Every submitted share was dropped: members submit theirs again.` } } };
      }
    }
    return { body: { message: submissionMessage(submitted, threshold, fullKey), submittedCount: submitted, recoveryThreshold: threshold, fullKeySubmitted: fullKey } };
  });
  get('/service/constitution', () => ({
    body: read((tx) => decodeJson<string>(found(tx.map(Tables.constitution).get(SINGLETON), 'constitution'), Tables.constitution)),
    headers: { 'content-type': 'text/javascript' },
  }));
  get('/service/info', () => ({
    body: read((tx) => {
      const info = found(readServiceInfo(tx), 'service information');
      const config = readServiceConfig(tx);
      return {
        status: info.status,
        certificate: info.cert,
        recoveryCount: info.recovery_count ?? 0,
        creationTransactionId: info.current_service_create_txid,
        // As CCF: the TxID of the service information this one replaced (a recovery's, or the previous service's).
        ...(info.previous_service_identity_version !== undefined && { previousServiceCreationTransactionId: formatTxId({ view: node.viewOf(info.previous_service_identity_version), seqno: info.previous_service_identity_version }) }),
        serviceData: info.service_data ?? {},
        // As CCF: absent without a configuration record, CCF's defaults for the fields a record may lack.
        ...(config !== undefined && {
          configuration: {
            recoveryThreshold: config.recovery_threshold,
            maximumNodeCertificateValidityDays: config.maximum_node_certificate_validity_days ?? CERTIFICATE_VALIDITY_DAYS_MAX,
            maximumServiceCertificateValidityDays: config.maximum_service_certificate_validity_days ?? CERTIFICATE_VALIDITY_DAYS_MAX,
            recentCoseProposalsWindowSize: config.recent_cose_proposals_window_size ?? RECENT_COSE_PROPOSALS_WINDOW_DEFAULT,
          },
        }),
      };
    }),
  }));
  get('/service/javascript-app', (request) => {
    const textCase = request.query.get('case');
    if (textCase !== null && textCase !== 'original') {
      throw new RpcError(400, 'InvalidQueryParameterValue', "Accepted values for the 'case' query parameter are: original");
    }
    const endpoints = read((tx) => {
      const byPath: Record<string, Record<string, unknown>> = {};
      tx.map(Tables.endpoints).forEach((value, key) => {
        const { method, path } = splitEndpointKey(fromUtf8(key));
        const info = decodeJson<Record<string, unknown>>(value, Tables.endpoints);
        const view = textCase === 'original'
          ? info
          : {
              jsModule: info.js_module,
              jsFunction: info.js_function,
              forwardingRequired: info.forwarding_required,
              redirectionStrategy: info.redirection_strategy ?? 'none',
              authnPolicies: info.authn_policies,
              mode: info.mode,
              openApi: info.openapi ?? {},
            };
        // Keyed by the verb as CCF writes it (GET, POST), which CCF's own tests compare.
        (byPath[path] ??= {})[method] = view;
      });
      return byPath;
    });
    return { body: { endpoints } };
  }, GA_API_VERSIONS);
  get('/service/javascript-modules', () => ({ body: { value: read((tx) => tableEntries(tx, Tables.modules, (name) => ({ moduleName: name }))) } }), GA_API_VERSIONS);
  get('/service/javascript-modules/{moduleName}', (request) => ({
    body: fromUtf8(read((tx) => tx.map(Tables.modules).get(utf8(request.params.moduleName!))) ?? notFound(`Module ${request.params.moduleName} does not exist.`)),
    headers: { 'content-type': 'text/javascript' },
  }), GA_API_VERSIONS);
  get('/service/join-policy', () => ({
    body: read((tx) => {
      const keys = (table: string) => tableEntries(tx, table, (key) => key);
      const byKey = (table: string) => Object.fromEntries(tableEntries(tx, table, (key, value) => [key, decodeJson<unknown>(value, table)]));
      // As CCF: the measurements whose status lets a node join.
      const allowedToJoin = (table: string) => Object.entries(byKey(table)).filter(([, status]) => status === 'AllowedToJoin').map(([key]) => key);
      return {
        // Code IDs of SGX nodes, which no Coco node is, but members may still allow them (add_node_code).
        sgx: { measurements: allowedToJoin(Tables.codeIds) },
        virtual: { measurements: allowedToJoin(Tables.virtualMeasurements), hostData: keys(Tables.virtualHostData) },
        snp: { measurements: allowedToJoin(Tables.snpMeasurements), hostData: byKey(Tables.snpHostData), uvmEndorsements: byKey(Tables.snpUvmEndorsements), tcbVersions: byKey(Tables.snpTcbVersions) },
      };
    }),
  }));
  get('/service/jwk', () => ({
    body: read((tx) => {
      const issuers: Record<string, unknown> = {};
      tx.map(Tables.jwtIssuers).forEach((value, key) => {
        const info = decodeJson<{ auto_refresh?: boolean; ca_cert_bundle_name?: string }>(value, Tables.jwtIssuers);
        issuers[fromUtf8(key)] = { autoRefresh: info.auto_refresh ?? false, ...(info.ca_cert_bundle_name ? { caCertBundleName: info.ca_cert_bundle_name } : {}) };
      });
      const keys: Record<string, unknown> = {};
      for (const kid of jwtKeyIds(tx)) {
        keys[kid] = (jwtKeysOfKid(tx, kid) ?? []).map((k) => ({ publicKey: derToPem(fromBase64(k.public_key), 'PUBLIC KEY'), issuer: k.issuer, constraint: k.constraint ?? null }));
      }
      const caCertBundles: Record<string, string> = {};
      tx.map(Tables.caCertBundles).forEach((value, key) => void (caCertBundles[fromUtf8(key)] = decodeJson<string>(value, Tables.caCertBundles)));
      return { issuers, keys, caCertBundles };
    }),
  }));
  get('/service/members', () => ({ body: { value: read((tx) => tableEntries(tx, Tables.membersCerts, (id) => memberView(tx, id)).filter(Boolean)) } }));
  /** One member, user or node: CCF's 400 for a malformed ID, 404 for an unknown one. */
  const entity = (path: string, name: 'memberId' | 'userId' | 'nodeId', kind: string, view: (tx: Transaction, id: string) => Record<string, unknown> | undefined) =>
    get(path, (request) => {
      const id = idParam(request, name);
      const value = read((tx) => view(tx, id));
      if (value === undefined) throw new RpcError(404, 'ResourceNotFound', `${kind} ${id} does not exist.`);
      return { body: value };
    });
  entity('/service/members/{memberId}', 'memberId', 'Member', memberView);
  get('/service/users', () => ({ body: { value: read((tx) => tableEntries(tx, Tables.usersCerts, (id) => userView(tx, id))) } }));
  entity('/service/users/{userId}', 'userId', 'User', userView);
  get('/service/nodes', () => ({ body: { value: read((tx) => tableEntries(tx, Tables.nodesInfo, (id) => nodeView(tx, id))) } }));
  entity('/service/nodes/{nodeId}', 'nodeId', 'Node', nodeView);
  get('/service/transactions/commit', () => ({ body: { transactionId: formatTxId(node.commitTxId), status: 'Committed' } }));
  get('/service/transactions/{transactionId}', (request) => {
    const read = requireTransactionId(request.params.transactionId!, "parameter 'transactionId'");
    return { body: { status: node.status(read.txId), transactionId: read.text } };
  });
}
