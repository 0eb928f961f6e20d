// Typed calls of CCF's governance REST API (`/gov`, api-version 2024-07-01). Requests that change
// governance state are COSE Sign1 envelopes signed with the member's key (a PEM, or an external
// signer: an HSM, a key vault), carrying the message type the service checks and `created_at` from
// the clock unless given; an envelope signed beforehand goes to the route its headers name. Reads
// need no identity. Paged lists are followed through `nextLink` up to LIST_PAGES_MAX pages.

import { fromBase64, fromUtf8, toBase64, utf8 } from '../crypto/bytes.js';
import { rsaOaepDecrypt } from '../crypto/rsa-oaep.js';
import { COSE_HEADER_KID, decodeCoseSign1, type CoseSign1 } from '../crypto/cose-sign1.js';
import { certificateId } from '../crypto/entity-id.js';
import { CocoError } from '../errors.js';
import { parseJsonText } from '../json-text.js';
import type { TxId } from '../ledger/tx-id.js';
import type { CocoClient } from './coco-client.js';
import type { CocoResponse } from './coco-response.js';
import {
  COSE_CONTENT_TYPE,
  GOV_MSG_PROPOSAL_ID_HEADER,
  GOV_MSG_TYPE_HEADER,
  GOVERNANCE_MSG_TYPES,
  signGovernanceRequest,
  type GovernanceMsgType,
  type GovernanceRequestFields,
} from './cose-signing.js';
import { requestAlgorithmOf, type ExternalSigner } from './external-signing.js';
import { checkExternalSigner, checkIdentity } from './identity-check.js';
import { txIdText, type TransactionStatus } from './transactions.js';

export const GOV_API_VERSION = '2024-07-01';
/** Pages followed for one list: far more than any consortium's members, users, nodes or proposals. */
export const LIST_PAGES_MAX = 1_000;
const MS_PER_SECOND = 1_000;

export type ProposalState = 'Open' | 'Accepted' | 'Withdrawn' | 'Rejected' | 'Failed' | 'Dropped';

export interface Failure {
  reason: string;
  trace?: string;
}

export interface Proposal {
  proposalId: string;
  proposerId: string;
  proposalState: ProposalState;
  ballotCount: number;
  finalVotes?: Record<string, boolean>;
  voteFailures?: Record<string, Failure>;
  failure?: Failure;
}

export interface ProposalAction {
  name: string;
  args?: unknown;
}

/** The proposal body as submitted. */
export interface ProposalBody {
  actions: ProposalAction[];
}

export interface StateDigest {
  memberId: string;
  stateDigest: string;
}

export interface ServiceInfo {
  status: string;
  certificate: string;
  recoveryCount: number;
  creationTransactionId: string;
  previousServiceCreationTransactionId?: string;
  serviceData: unknown;
  configuration: {
    recoveryThreshold: number;
    maximumNodeCertificateValidityDays: number;
    maximumServiceCertificateValidityDays: number;
    recentCoseProposalsWindowSize: number;
  };
}

export interface MemberInfo {
  memberId: string;
  status: 'Accepted' | 'Active';
  memberData?: unknown;
  certificate: string;
  publicEncryptionKey?: string;
  recoveryRole?: 'NonParticipant' | 'Participant' | 'Owner';
}

/** What a recovered service answers a submitted recovery share. */
export interface RecoveryShareSubmission {
  /** CCF's text: "1/2 recovery shares successfully submitted", then "\nEnd of recovery procedure initiated" with the last. */
  message: string;
  submittedCount: number;
  recoveryThreshold: number;
  fullKeySubmitted: boolean;
}

export interface UserInfo {
  userId: string;
  certificate: string;
  userData?: unknown;
}

export interface NodeInfo {
  nodeId: string;
  status: 'Pending' | 'Trusted' | 'Retired';
  nodeData?: unknown;
  certificate: string;
  retiredCommitted: boolean;
  quoteInfo: { format: string; [field: string]: unknown };
  rpcInterfaces: Record<string, { publishedAddress: string; protocol: string }>;
}

export interface JavascriptEndpoint {
  jsModule: string;
  jsFunction: string;
  forwardingRequired: string;
  redirectionStrategy?: string;
  authnPolicies: unknown[];
  mode: string;
  openApi?: unknown;
}

export interface JavascriptApp {
  endpoints: Record<string, Record<string, JavascriptEndpoint>>;
}

export interface GovernanceMember {
  certPem: string;
  keyPem: string;
}

export interface GovernanceClientOptions {
  /**
   * The member who signs, with its key PEM or an external signer whose key this process cannot
   * read; needed only for the calls that change state.
   */
  member?: GovernanceMember | ExternalSigner;
  /** Milliseconds since the epoch; the source of `created_at` (default: the system clock). */
  now?: () => number;
}

export interface SignOptions {
  /** Seconds since the epoch to sign as `created_at` instead of the clock's. */
  createdAt?: number;
}

interface Page<T> {
  value: T[];
  nextLink?: string;
}

export class GovernanceClient {
  readonly #client: CocoClient;
  readonly #member: GovernanceMember | ExternalSigner | undefined;
  readonly #now: () => number;
  /** The signing member's ID, when a member was given. */
  readonly memberId: string | undefined;
  /** The TxID of the last signed request's response: what to wait on for it to be Committed. */
  lastTxId: TxId | undefined;

  constructor(client: CocoClient, options: GovernanceClientOptions = {}) {
    this.#client = client;
    if (options.member !== undefined) {
      if ('sign' in options.member) checkExternalSigner(options.member, 'member');
      else {
        checkIdentity(options.member.certPem, options.member.keyPem, { cert: 'member.certPem', key: 'member.keyPem' });
        // Every governance request is signed: a key that cannot sign one is refused now.
        requestAlgorithmOf(options.member.certPem);
      }
    }
    this.#member = options.member;
    this.#now = options.now ?? Date.now;
    this.memberId = options.member === undefined ? undefined : certificateId(options.member.certPem);
  }

  async listProposals(): Promise<Proposal[]> {
    return this.#list<Proposal>('/gov/members/proposals');
  }

  /** Submits a proposal: an object serialised as JSON, or JSON text signed exactly as given. */
  async createProposal(proposal: ProposalBody | object | string, options: SignOptions = {}): Promise<Proposal> {
    const text = typeof proposal === 'string' ? proposal : JSON.stringify(proposal);
    if (typeof proposal === 'string') {
      try {
        parseJsonText(text);
      } catch (cause) {
        throw new CocoError('InvalidArgument', `the proposal is not JSON text: ${(cause as Error).message}`, { cause });
      }
    }
    return this.#signed<Proposal>('proposal', utf8(text), options);
  }

  async getProposal(proposalId: string): Promise<Proposal> {
    return this.#getJson<Proposal>(`/gov/members/proposals/${segment(proposalId)}`);
  }

  async getProposalActions(proposalId: string): Promise<ProposalBody> {
    return this.#getJson<ProposalBody>(`/gov/members/proposals/${segment(proposalId)}/actions`);
  }

  /** Withdraws the member's own open proposal; `undefined` when the service does not know it (204). */
  async withdrawProposal(proposalId: string, options: SignOptions = {}): Promise<Proposal | undefined> {
    const response = await this.#post('withdrawal', new Uint8Array(), options, proposalId);
    return response.status === 204 ? undefined : response.json<Proposal>();
  }

  /** Votes with a ballot: JS source exporting `vote(rawProposal, proposerId) → boolean`. */
  async submitBallot(proposalId: string, ballotJsSource: string, options: SignOptions = {}): Promise<Proposal> {
    if (typeof ballotJsSource !== 'string' || ballotJsSource.length === 0) {
      throw new CocoError('InvalidArgument', 'a ballot is non-empty JavaScript source exporting vote(rawProposal, proposerId)');
    }
    return this.#signed<Proposal>('ballot', utf8(JSON.stringify({ ballot: ballotJsSource })), options, proposalId);
  }

  /** The ballot (JS source) a member submitted; the signing member's by default. */
  async getBallot(proposalId: string, memberId = this.#signer().memberId): Promise<string> {
    const response = await this.#get(`/gov/members/proposals/${segment(proposalId)}/ballots/${segment(memberId)}`);
    return response.text();
  }

  async getStateDigest(memberId = this.#signer().memberId): Promise<StateDigest> {
    return this.#getJson<StateDigest>(`/gov/members/state-digests/${segment(memberId)}`);
  }

  /** Asks the service to refresh the member's state digest to the latest signed root. */
  async updateStateDigest(options: SignOptions = {}): Promise<StateDigest> {
    return this.#signed<StateDigest>('state_digest', new Uint8Array(), options);
  }

  /** Acknowledges `stateDigest` (from updateStateDigest), which makes the member Active. */
  async ack(stateDigest: string, options: SignOptions = {}): Promise<void> {
    if (typeof stateDigest !== 'string' || stateDigest.length === 0) {
      throw new CocoError('InvalidArgument', 'ack needs the stateDigest returned by updateStateDigest');
    }
    await this.#post('ack', utf8(JSON.stringify({ stateDigest })), options);
  }

  /** A member's recovery share (the signing member's by default), base64, encrypted under its RSA encryption key. */
  async getEncryptedRecoveryShare(memberId = this.#signer().memberId): Promise<string> {
    return (await this.#getJson<{ encryptedShare: string }>(`/gov/recovery/encrypted-shares/${segment(memberId)}`)).encryptedShare;
  }

  /**
   * Submits the signing member's recovery share to a recovered service waiting for shares, as CCF's
   * submit_recovery_share.sh does: the encrypted share fetched, decrypted with the member's RSA
   * encryption private key (RSA-OAEP, SHA-256), and sent signed (`recovery_share`).
   */
  async submitRecoveryShare(encryptionPrivateKeyPem: string, options: SignOptions = {}): Promise<RecoveryShareSubmission> {
    const encrypted = fromBase64(await this.getEncryptedRecoveryShare());
    let share: Uint8Array;
    try {
      share = rsaOaepDecrypt(encryptionPrivateKeyPem, encrypted);
    } catch (error) {
      throw new CocoError('DecryptionFailed', `the recovery share of member ${this.#signer().memberId} does not decrypt with the encryption private key given (${(error as Error).message}): give the key whose public half the member was registered with (memberN_enc_privk.pem)`);
    }
    return this.#signed<RecoveryShareSubmission>('recovery_share', utf8(JSON.stringify({ share: toBase64(share) })), options);
  }

  async getServiceInfo(): Promise<ServiceInfo> {
    return this.#getJson<ServiceInfo>('/gov/service/info');
  }

  /** The constitution's JavaScript source. */
  async getConstitution(): Promise<string> {
    return (await this.#get('/gov/service/constitution')).text();
  }

  async getJavascriptApp(): Promise<JavascriptApp> {
    return this.#getJson<JavascriptApp>('/gov/service/javascript-app');
  }

  async listMembers(): Promise<MemberInfo[]> {
    return this.#list<MemberInfo>('/gov/service/members');
  }

  async getMember(memberId: string): Promise<MemberInfo> {
    return this.#getJson<MemberInfo>(`/gov/service/members/${segment(memberId)}`);
  }

  async listUsers(): Promise<UserInfo[]> {
    return this.#list<UserInfo>('/gov/service/users');
  }

  async getUser(userId: string): Promise<UserInfo> {
    return this.#getJson<UserInfo>(`/gov/service/users/${segment(userId)}`);
  }

  async listNodes(): Promise<NodeInfo[]> {
    return this.#list<NodeInfo>('/gov/service/nodes');
  }

  async getNode(nodeId: string): Promise<NodeInfo> {
    return this.#getJson<NodeInfo>(`/gov/service/nodes/${segment(nodeId)}`);
  }

  async getTransactionStatus(txId: TxId | string): Promise<TransactionStatus> {
    const body = await this.#getJson<{ status: TransactionStatus }>(`/gov/service/transactions/${txIdText(txId)}`);
    return body.status;
  }

  /**
   * Sends a governance request signed beforehand (say, prepared and finished around an HSM: coco
   * gov prepare / finish) to the route its protected header names: its message type, the signer's
   * ID (kid) and, for a ballot or withdrawal, the proposal. Needs no member. The service checks the
   * signature; the response is the route's (a 204 has no body).
   */
  async submitSigned(envelope: Uint8Array): Promise<CocoResponse> {
    const { path } = signedRequestTarget(envelope);
    const response = await this.#client.request('POST', withApiVersion(path), { body: envelope, contentType: COSE_CONTENT_TYPE });
    this.lastTxId = response.txId;
    return response;
  }

  #signer(): { memberId: string; member: GovernanceMember | ExternalSigner } {
    if (this.#member === undefined || this.memberId === undefined) {
      throw new CocoError('InvalidArgument', 'this call acts as a member: create the GovernanceClient with { member: { certPem, keyPem } } or, for a key you cannot read, { member: { certPem, sign } }');
    }
    return { memberId: this.memberId, member: this.#member };
  }

  #get(path: string): Promise<CocoResponse> {
    return this.#client.request('GET', withApiVersion(path));
  }

  async #getJson<T>(path: string): Promise<T> {
    return (await this.#get(path)).json<T>();
  }

  async #list<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = withApiVersion(path);
    for (let pages = 0; next !== undefined; pages++) {
      if (pages >= LIST_PAGES_MAX) {
        throw new CocoError('InvalidResponse', `${path}: more than ${LIST_PAGES_MAX} pages; the service's nextLink does not end`);
      }
      const page: Page<T> = (await this.#client.request('GET', next)).json<Page<T>>();
      if (!Array.isArray(page?.value)) throw new CocoError('InvalidResponse', `${path}: expected {"value": [...]}, got ${typeof page}`);
      items.push(...page.value);
      next = page.nextLink === undefined ? undefined : nextLinkPath(page.nextLink, path);
    }
    return items;
  }

  async #signed<T>(msgType: GovernanceMsgType, content: Uint8Array, options: SignOptions, proposalId?: string): Promise<T> {
    return (await this.#post(msgType, content, options, proposalId)).json<T>();
  }

  async #post(msgType: GovernanceMsgType, content: Uint8Array, options: SignOptions, proposalId?: string): Promise<CocoResponse> {
    const { memberId, member } = this.#signer();
    const path = signedRequestPath(msgType, memberId, proposalId);
    const fields: GovernanceRequestFields = {
      content,
      msgType,
      createdAt: options.createdAt ?? Math.floor(this.#now() / MS_PER_SECOND),
      ...(proposalId !== undefined && { proposalId }),
    };
    const body = 'sign' in member
      ? await signGovernanceRequest({ ...fields, signer: member })
      : signGovernanceRequest({ ...fields, signerCertPem: member.certPem, signerKeyPem: member.keyPem });
    const response = await this.#client.request('POST', withApiVersion(path), { body, contentType: COSE_CONTENT_TYPE });
    this.lastTxId = response.txId;
    return response;
  }
}

/** CCF's route for each governance message type: the signer's and the proposal's IDs are in the URL. */
function signedRequestPath(msgType: GovernanceMsgType, memberId: string, proposalId: string | undefined): string {
  switch (msgType) {
    case 'proposal':
      return '/gov/members/proposals:create';
    case 'withdrawal':
      return `/gov/members/proposals/${segment(proposalId)}:withdraw`;
    case 'ballot':
      return `/gov/members/proposals/${segment(proposalId)}/ballots/${segment(memberId)}:submit`;
    case 'state_digest':
      return `/gov/members/state-digests/${segment(memberId)}:update`;
    case 'ack':
      return `/gov/members/state-digests/${segment(memberId)}:ack`;
    case 'recovery_share':
      return `/gov/recovery/members/${segment(memberId)}:recover`;
  }
}

/** Where a signed governance request goes, from its protected header. */
export interface SignedRequestTarget {
  msgType: GovernanceMsgType;
  /** The signer (kid). */
  memberId: string;
  proposalId: string | undefined;
  /** CCF's route for it, without the api-version. */
  path: string;
}

/** Reads where a signed governance request goes; InvalidArgument for an envelope that does not say. */
export function signedRequestTarget(envelope: Uint8Array): SignedRequestTarget {
  let message: CoseSign1;
  try {
    message = decodeCoseSign1(envelope, { requireTag: true });
  } catch (cause) {
    throw new CocoError('InvalidArgument', `the signed request is not a COSE_Sign1 envelope: ${(cause as Error).message}`, { cause });
  }
  const msgType = message.protectedHeader.get(GOV_MSG_TYPE_HEADER);
  if (!GOVERNANCE_MSG_TYPES.includes(msgType as GovernanceMsgType)) {
    throw new CocoError('InvalidArgument', `the signed request's ${GOV_MSG_TYPE_HEADER} is ${JSON.stringify(msgType)}, not a governance message type (${GOVERNANCE_MSG_TYPES.join(', ')}): nothing says where to send it`);
  }
  const kid = message.protectedHeader.get(COSE_HEADER_KID);
  if (!(kid instanceof Uint8Array)) throw new CocoError('InvalidArgument', "the signed request has no kid (the signer's member ID) in its protected header");
  const proposalId = message.protectedHeader.get(GOV_MSG_PROPOSAL_ID_HEADER);
  if (proposalId !== undefined && typeof proposalId !== 'string') {
    throw new CocoError('InvalidArgument', `the signed request's ${GOV_MSG_PROPOSAL_ID_HEADER} must be a text string`);
  }
  if (proposalId === undefined && (msgType === 'ballot' || msgType === 'withdrawal')) {
    throw new CocoError('InvalidArgument', `the signed ${msgType} has no ${GOV_MSG_PROPOSAL_ID_HEADER}, which names its proposal in the route`);
  }
  const memberId = fromUtf8(kid);
  const type = msgType as GovernanceMsgType;
  return { msgType: type, memberId, proposalId, path: signedRequestPath(type, memberId, proposalId) };
}

function withApiVersion(path: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}api-version=${GOV_API_VERSION}`;
}

/** An ID as one URL path segment. */
function segment(id: string | undefined): string {
  if (typeof id !== 'string' || id.length === 0) throw new CocoError('InvalidArgument', `expected a non-empty ID, got ${JSON.stringify(id)}`);
  return encodeURIComponent(id);
}

/** nextLink may be a path or an absolute URL; only its path and query are followed, on the same client. */
function nextLinkPath(nextLink: string, listPath: string): string {
  let url: URL;
  try {
    url = new URL(nextLink, 'https://service.invalid');
  } catch (cause) {
    throw new CocoError('InvalidResponse', `${listPath}: unreadable nextLink ${JSON.stringify(nextLink)}`, { cause });
  }
  const next = `${url.pathname}${url.search}`;
  return url.searchParams.has('api-version') ? next : withApiVersion(next);
}
