// Typed calls of CCF's governance REST API (`/gov`, api-version 2024-07-01). Requests that change
// governance state are COSE Sign1 envelopes signed with the member's key, carrying the message
// type the service checks and `created_at` from the clock unless given; reads need no identity.
// Paged lists are followed through `nextLink` up to LIST_PAGES_MAX pages.

import { utf8 } from '../crypto/bytes.js';
import { certificateId } from '../crypto/entity-id.js';
import { CocoError } from '../errors.js';
import { parseJsonText } from '../json-text.js';
import type { TxId } from '../ledger/tx-id.js';
import type { CocoClient } from './coco-client.js';
import type { CocoResponse } from './coco-response.js';
import { COSE_CONTENT_TYPE, signGovernanceRequest, type GovernanceMsgType } from './cose-signing.js';
import { checkIdentity } from './identity-check.js';
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
  /** The member who signs; needed only for the calls that change state. */
  member?: GovernanceMember;
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
  readonly #member: GovernanceMember | undefined;
  readonly #now: () => number;
  /** The signing member's ID, when a member was given. */
  readonly memberId: string | undefined;
  /** The TxID of the last signed request's response: what to wait on for it to be Committed. */
  lastTxId: TxId | undefined;

  constructor(client: CocoClient, options: GovernanceClientOptions = {}) {
    this.#client = client;
    if (options.member !== undefined) checkIdentity(options.member.certPem, options.member.keyPem, { cert: 'member.certPem', key: 'member.keyPem' });
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
    return this.#signed<Proposal>('/gov/members/proposals:create', 'proposal', utf8(text), options);
  }

  async getProposal(proposalId: string): Promise<Proposal> {
    return this.#getJson<Proposal>(`/gov/members/proposals/${segment(proposalId)}`);
  }

  async getProposalActions(proposalId: string): Promise<ProposalBody> {
    return this.#getJson<ProposalBody>(`/gov/members/proposals/${segment(proposalId)}/actions`);
  }

  /** Withdraws the member's own open proposal; `undefined` when the service does not know it (204). */
  async withdrawProposal(proposalId: string, options: SignOptions = {}): Promise<Proposal | undefined> {
    const path = `/gov/members/proposals/${segment(proposalId)}:withdraw`;
    const response = await this.#post(path, 'withdrawal', new Uint8Array(), options, proposalId);
    return response.status === 204 ? undefined : response.json<Proposal>();
  }

  /** Votes with a ballot: JS source exporting `vote(rawProposal, proposerId) → boolean`. */
  async submitBallot(proposalId: string, ballotJsSource: string, options: SignOptions = {}): Promise<Proposal> {
    if (typeof ballotJsSource !== 'string' || ballotJsSource.length === 0) {
      throw new CocoError('InvalidArgument', 'a ballot is non-empty JavaScript source exporting vote(rawProposal, proposerId)');
    }
    const path = `/gov/members/proposals/${segment(proposalId)}/ballots/${segment(this.#signer().memberId)}:submit`;
    return this.#signed<Proposal>(path, 'ballot', utf8(JSON.stringify({ ballot: ballotJsSource })), options, proposalId);
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
    const path = `/gov/members/state-digests/${segment(this.#signer().memberId)}:update`;
    return this.#signed<StateDigest>(path, 'state_digest', new Uint8Array(), options);
  }

  /** Acknowledges `stateDigest` (from updateStateDigest), which makes the member Active. */
  async ack(stateDigest: string, options: SignOptions = {}): Promise<void> {
    if (typeof stateDigest !== 'string' || stateDigest.length === 0) {
      throw new CocoError('InvalidArgument', 'ack needs the stateDigest returned by updateStateDigest');
    }
    const path = `/gov/members/state-digests/${segment(this.#signer().memberId)}:ack`;
    await this.#post(path, 'ack', utf8(JSON.stringify({ stateDigest })), options);
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

  #signer(): { memberId: string; member: GovernanceMember } {
    if (this.#member === undefined || this.memberId === undefined) {
      throw new CocoError('InvalidArgument', 'this call acts as a member: create the GovernanceClient with { member: { certPem, keyPem } }');
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

  async #signed<T>(path: string, msgType: GovernanceMsgType, content: Uint8Array, options: SignOptions, proposalId?: string): Promise<T> {
    return (await this.#post(path, msgType, content, options, proposalId)).json<T>();
  }

  async #post(path: string, msgType: GovernanceMsgType, content: Uint8Array, options: SignOptions, proposalId?: string): Promise<CocoResponse> {
    const { member } = this.#signer();
    const body = signGovernanceRequest({
      content,
      msgType,
      createdAt: options.createdAt ?? Math.floor(this.#now() / MS_PER_SECOND),
      ...(proposalId !== undefined && { proposalId }),
      signerCertPem: member.certPem,
      signerKeyPem: member.keyPem,
    });
    const response = await this.#client.request('POST', withApiVersion(path), { body, contentType: COSE_CONTENT_TYPE });
    this.lastTxId = response.txId;
    return response;
  }
}

function withApiVersion(path: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}api-version=${GOV_API_VERSION}`;
}

/** An ID as one URL path segment. */
function segment(id: string): string {
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
