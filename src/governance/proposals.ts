// The proposal lifecycle of CCF's governance: create (validate, record, replay checks, resolve at
// once), ballots (re-evaluated on every vote), withdrawal, and resolution; an accepted proposal is
// applied in the same transaction. A failed `resolve` or `apply` discards the whole transaction.

import { fromUtf8, isValidUtf8, toBase64, toHex, utf8 } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { concatBytes } from '../crypto/bytes.js';
import { ecdsaSignatureTwin } from '../crypto/ecdsa-twin.js';
import { CocoError, invariant } from '../errors.js';
import { JS_TIMEOUT_MESSAGE } from '../js/js-exception.js';
import type { Transaction } from '../kv/transaction.js';
import { decodeJson, encodeJson, readServiceConfig, SINGLETON, Tables, type MemberInfo } from './builtin-tables.js';
import { ScriptError, type ConstitutionRunner, type ScriptFailure, type Vote } from './constitution-runner.js';
import type { MemberCoseIdentity } from './member-cose-identity.js';

export type ProposalState = 'Open' | 'Accepted' | 'Withdrawn' | 'Rejected' | 'Failed' | 'Dropped';

/** `public:ccf.gov.proposals_info` values, in CCF's JSON shape. */
export interface ProposalInfo {
  proposer_id: string;
  state: ProposalState;
  ballots: Record<string, string>;
  final_votes?: Record<string, boolean>;
  vote_failures?: Record<string, ScriptFailure>;
  failure?: ScriptFailure;
}

/** A proposal as the governance API (2024-07-01) shows it. */
export interface ProposalView {
  proposalId: string;
  proposerId: string;
  proposalState: ProposalState;
  ballotCount: number;
  finalVotes?: Record<string, boolean>;
  voteFailures?: Record<string, ScriptFailure>;
  failure?: ScriptFailure;
}

/** created_at is compared as a zero-padded 10-digit string, good until the year 2286. */
export const CREATED_AT_MAX = 9_999_999_999;
export const RECENT_PROPOSALS_WINDOW_DEFAULT = 100;

/**
 * A proposal's text as the constitution sees it: its stored bytes exactly, a leading UTF-8 BOM kept
 * (JSON.parse refuses U+FEFF, as CCF's QuickJS does with the bytes CCF hands it).
 */
const proposalTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The text of a new proposal, which must be UTF-8, so that what is stored is what is evaluated. */
function newProposalText(content: Uint8Array): string {
  if (!isValidUtf8(content)) {
    throw new CocoError('ProposalFailedToValidate', 'Proposal failed to validate: the proposal is not UTF-8 text, so it cannot be JSON; send the JSON as UTF-8');
  }
  return proposalTextDecoder.decode(content);
}

export function proposalView(proposalId: string, info: ProposalInfo): ProposalView {
  return {
    proposalId,
    proposerId: info.proposer_id,
    proposalState: info.state,
    ballotCount: Object.keys(info.ballots).length,
    ...(info.final_votes === undefined ? {} : { finalVotes: info.final_votes }),
    ...(info.vote_failures === undefined ? {} : { voteFailures: info.vote_failures }),
    ...(info.failure === undefined ? {} : { failure: info.failure }),
  };
}

function failureOf(error: unknown): ScriptFailure {
  if (error instanceof ScriptError) return error.failure;
  if (error instanceof CocoError && error.code === 'JsExecutionTimeout') return { reason: JS_TIMEOUT_MESSAGE };
  return { reason: (error as Error).message };
}

/** The members who may vote on a proposal: the Active ones, and any others whose ballots it holds (removed after voting). */
function votersOf(tx: Transaction, info: ProposalInfo): Set<string> {
  const voters = new Set(Object.keys(info.ballots));
  tx.map(Tables.membersInfo).forEach((value, key) => {
    if (decodeJson<MemberInfo>(value, Tables.membersInfo).status === 'Active') voters.add(fromUtf8(key));
  });
  return voters;
}

export class Governance {
  constructor(private readonly runner: ConstitutionRunner) {}

  private constitution(tx: Transaction): string {
    const value = tx.map(Tables.constitution).get(SINGLETON);
    if (value === undefined) throw new CocoError('InternalError', 'no constitution is set: proposals cannot be evaluated');
    return decodeJson<string>(value, Tables.constitution);
  }

  readInfo(tx: Transaction, proposalId: string): ProposalInfo | undefined {
    const value = tx.map(Tables.proposalsInfo).get(utf8(proposalId));
    return value === undefined ? undefined : decodeJson<ProposalInfo>(value, Tables.proposalsInfo);
  }

  private writeInfo(tx: Transaction, proposalId: string, info: ProposalInfo): void {
    tx.map(Tables.proposalsInfo).set(utf8(proposalId), encodeJson(info));
  }

  private recordHistory(tx: Transaction, identity: MemberCoseIdentity): void {
    tx.map(Tables.coseHistory).set(utf8(identity.memberId), encodeJson(toBase64(identity.envelope)));
  }

  /** `rootAtRead`: the Merkle root of the state the transaction reads, which binds the proposal ID to it. */
  create(tx: Transaction, identity: MemberCoseIdentity, rootAtRead: Uint8Array): ProposalView {
    const requestDigest = sha256(identity.signature);
    const proposalId = toHex(sha256(concatBytes(rootAtRead, requestDigest)));
    const constitution = this.constitution(tx);
    const proposal = newProposalText(identity.content);
    let validation: { valid: boolean; description: string };
    try {
      validation = this.runner.validate(tx, constitution, proposal);
    } catch (error) {
      const failure = failureOf(error);
      throw new CocoError('InternalError', `Failed to execute validation: ${failure.reason} ${failure.trace ?? ''}`.trim());
    }
    if (!validation.valid) throw new CocoError('ProposalFailedToValidate', `Proposal failed to validate: ${validation.description}`);
    if (tx.map(Tables.proposals).has(utf8(proposalId))) throw new CocoError('InternalError', 'Proposal ID collision.');
    tx.map(Tables.proposals).set(utf8(proposalId), identity.content);
    const info: ProposalInfo = { proposer_id: identity.memberId, state: 'Open', ballots: {} };
    this.writeInfo(tx, proposalId, info);
    this.recordHistory(tx, identity);
    this.checkReplay(tx, identity.createdAt, requestDigest, identity.signature, proposalId);
    this.resolve(tx, proposalId, proposal, info, constitution);
    return proposalView(proposalId, info);
  }

  private checkReplay(tx: Transaction, createdAt: number, requestDigest: Uint8Array, signature: Uint8Array, proposalId: string): void {
    if (createdAt > CREATED_AT_MAX) throw new CocoError('InvalidCreatedAt', 'Header parameter created_at value is too large');
    const recent = tx.map(Tables.coseRecentProposals);
    const keyOf = (digest: Uint8Array) => `${String(createdAt).padStart(10, '0')}:${toHex(digest)}`;
    const key = keyOf(requestDigest);
    // Recorded as CCF records it, by the signature as sent; its other valid form (anyone can make
    // it from a proposal the ledger shows) is the same request sent again.
    const twin = ecdsaSignatureTwin(signature);
    const existing = recent.get(utf8(key)) ?? (twin === undefined ? undefined : recent.get(utf8(keyOf(sha256(twin)))));
    if (existing !== undefined) {
      throw new CocoError('ProposalReplay', `Proposal submission replay, already exists as proposal ${decodeJson<string>(existing, Tables.coseRecentProposals)}`);
    }
    const keys: string[] = [];
    recent.forEach((_, k) => void keys.push(fromUtf8(k)));
    keys.sort();
    if (keys.length > 0) {
      const median = keys[Math.floor(keys.length / 2)]!.split(':')[0]!;
      const mine = key.split(':')[0]!;
      if (mine < median) throw new CocoError('ProposalCreatedTooLongAgo', `Proposal created too long ago, created_at must be greater than ${median}`);
    }
    const window = readServiceConfig(tx)?.recent_cose_proposals_window_size || RECENT_PROPOSALS_WINDOW_DEFAULT;
    recent.set(utf8(key), encodeJson(proposalId));
    // Keep only the newest `window` keys (the one just added included).
    for (let i = 0; i < keys.length - (window - 1); i++) recent.delete(utf8(keys[i]!));
  }

  /** A ballot of the signer; the caller has checked that the URL names the signed proposal and the signer. */
  submitBallot(tx: Transaction, identity: MemberCoseIdentity, proposalId: string): ProposalView {
    invariant(identity.proposalId === proposalId, 'a ballot is for the proposal it signs');
    const memberId = identity.memberId;
    const info = this.readInfo(tx, proposalId);
    const proposalBytes = tx.map(Tables.proposals).get(utf8(proposalId));
    if (info === undefined || proposalBytes === undefined) throw new CocoError('ProposalNotFound', `Could not find proposal ${proposalId}.`);
    if (info.state !== 'Open') {
      throw new CocoError('ProposalNotOpen', `Proposal ${proposalId} is currently in state ${info.state} - only Open proposals can receive votes`);
    }
    let ballot: unknown;
    try {
      ballot = (JSON.parse(fromUtf8(identity.content)) as { ballot?: unknown }).ballot;
    } catch {
      ballot = undefined;
    }
    if (typeof ballot !== 'string') {
      throw new CocoError('InvalidInput', 'Signed request body is not a JSON object containing required string field "ballot"');
    }
    const constitution = this.constitution(tx);
    const previous = info.ballots[memberId];
    if (previous !== undefined) {
      if (previous === ballot) return proposalView(proposalId, info);
      throw new CocoError('VoteAlreadyExists', `Different ballot already submitted by ${memberId} for ${proposalId}.`);
    }
    info.ballots[memberId] = ballot;
    this.recordHistory(tx, identity);
    this.resolve(tx, proposalId, proposalTextDecoder.decode(proposalBytes), info, constitution);
    return proposalView(proposalId, info);
  }

  /** The caller has checked that the URL names the signed proposal. */
  withdraw(tx: Transaction, identity: MemberCoseIdentity, proposalId: string): ProposalView | undefined {
    invariant(identity.proposalId === proposalId, 'a withdrawal is of the proposal it signs');
    const info = this.readInfo(tx, proposalId);
    if (info === undefined) return undefined;
    if (identity.memberId !== info.proposer_id) {
      throw new CocoError('AuthorizationFailed', `Proposal ${proposalId} can only be withdrawn by proposer ${info.proposer_id}, not caller ${identity.memberId}.`);
    }
    if (info.state !== 'Open' && info.state !== 'Withdrawn') {
      throw new CocoError('ProposalNotOpen', `Proposal ${proposalId} is currently in state ${info.state} and cannot be withdrawn.`);
    }
    if (info.state === 'Open') {
      info.state = 'Withdrawn';
      this.writeInfo(tx, proposalId, info);
      this.removeOtherClosedProposals(tx, proposalId);
      this.recordHistory(tx, identity);
    }
    return proposalView(proposalId, info);
  }

  /** When one proposal closes, CCF keeps only it among the closed ones. */
  private removeOtherClosedProposals(tx: Transaction, proposalId: string): void {
    const closed: Uint8Array[] = [];
    tx.map(Tables.proposalsInfo).forEach((value, key) => {
      if (fromUtf8(key) !== proposalId && decodeJson<ProposalInfo>(value, Tables.proposalsInfo).state !== 'Open') closed.push(key);
    });
    for (const key of closed) {
      tx.map(Tables.proposals).delete(key);
      tx.map(Tables.proposalsInfo).delete(key);
    }
  }

  private resolve(tx: Transaction, proposalId: string, proposal: string, info: ProposalInfo, constitution: string): void {
    const votes: Record<string, boolean> = {};
    const voteFailures: Record<string, ScriptFailure> = {};
    const voterCount = votersOf(tx, info).size;
    for (const [memberId, ballot] of Object.entries(info.ballots)) {
      const name = `${Tables.proposalsInfo}[${proposalId}].ballots[${memberId}]`;
      try {
        votes[memberId] = this.runner.vote(tx, ballot, proposal, info.proposer_id, { name, voterCount }) === true;
      } catch (error) {
        // Only a failed call is a vote failure: a ballot that does not load fails the request.
        if (!(error instanceof ScriptError)) throw error;
        voteFailures[memberId] = error.failure;
      }
    }
    const voteList: Vote[] = Object.entries(votes).map(([member_id, vote]) => ({ member_id, vote }));
    try {
      const state = this.runner.resolve(tx, constitution, proposal, info.proposer_id, voteList, proposalId);
      if (state === 'Open' || state === 'Accepted' || state === 'Rejected') info.state = state;
      else {
        info.state = 'Failed';
        info.failure = { reason: `resolve() returned invalid status value: "${state}"` };
      }
    } catch (error) {
      const failure = failureOf(error);
      info.state = 'Failed';
      info.failure = { reason: `Failed to resolve(): ${failure.reason}`, ...(failure.trace === undefined ? {} : { trace: failure.trace }) };
    }
    this.writeInfo(tx, proposalId, info);
    if (info.state === 'Open') return;
    this.removeOtherClosedProposals(tx, proposalId);
    info.final_votes = votes;
    info.vote_failures = voteFailures;
    this.writeInfo(tx, proposalId, info);
    if (info.state === 'Accepted') {
      try {
        this.runner.apply(tx, constitution, proposal, proposalId);
        // Whatever the constitution checked: one that cannot run would fail every later
        // proposal, the one restoring the old constitution included.
        const installed = this.constitution(tx);
        if (installed !== constitution) this.runner.checkConstitution(tx, installed);
      } catch (error) {
        const failure = failureOf(error);
        info.state = 'Failed';
        info.failure = { reason: `Failed to apply(): ${failure.reason}`, ...(failure.trace === undefined ? {} : { trace: failure.trace }) };
        this.writeInfo(tx, proposalId, info);
      }
    }
    if (info.state === 'Failed') {
      // The transaction is discarded: a script that failed midway must leave no partial writes.
      // Said as CCF formats a failure: its reason, then its trace on a line of its own.
      throw new CocoError('InternalError', `${info.failure?.reason}\nTrace: ${info.failure?.trace ?? 'N/A'}`);
    }
  }
}
