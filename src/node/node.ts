// One Coco node: the store, the ledger it writes, consensus, signature transactions and commit.
// On the primary, handlers run one at a time inside one KV transaction each; a transaction that
// writes gets the next seqno, its entry is appended to the ledger at once and handed to Raft to
// replicate. Signatures follow every `tx_count` writes or `delay_ms`, whichever first. Backups
// apply the entries the primary sends: decrypt, apply the write set, extend the Merkle tree (a
// signature must sign the root the backup computed), append to the ledger. Every node makes its
// log durable with one fsync per batch and tells Raft; a transaction is Committed once a later
// signature is durable on a majority of every active configuration.

import { NO_COSE_SIGNATURE_CLAIMS, recordedCoseSignatureClaims, type CoseSignatureClaims } from './cose-signature-claims.js';
import { ChunksBeforeStart } from './chunks-before-start.js';
import { readLedgerBeforeStart, type LedgerBeforeStart } from './ledger-before-start.js';
import { CocoError, invariant } from '../errors.js';
import { decodeJson, encodeJson, readServiceConfig, readServiceInfo, SINGLETON, Tables, type NodeInfo } from '../governance/builtin-tables.js';
import { equalBytes, utf8 } from '../crypto/bytes.js';
import type { Transaction } from '../kv/transaction.js';
import { Store } from '../kv/store.js';
import type { WriteSet } from '../kv/write-set.js';
import { LedgerSecrets, type LedgerSecret } from '../ledger/ledger-secrets.js';
import type { GovernanceHost } from '../governance/gov-effects.js';
import { publicKeyDer, type KeyPair } from '../crypto/signing.js';
import { parseCertificate } from '../crypto/x509.js';
import { randomBytes } from '../crypto/random.js';
import { AES_256_KEY_BYTES } from '../crypto/aes-gcm.js';
import { parseChunkName } from '../ledger/chunk-file.js';
import { LeafDigests } from '../ledger/leaf-digests.js';
import { LedgerWriter, type AppendResult, type ViewStart } from '../ledger/ledger-writer.js';
import { formatTxId, parseTxId, type TxId } from '../ledger/tx-id.js';
import type { Receipt } from '../ledger/receipt.js';
import { buildCoseReceipt } from '../ledger/cose-receipt.js';
import type { LogEntry } from '../consensus/log-entry.js';
import { ENTRY_BYTES_MAX, UNCOMMITTED_ENTRY_BYTES_DEFAULT } from '../consensus/consensus-limits.js';
import { RaftNode, type EntriesToLoad, type HardState, type Ready, type Role, type StepDown } from '../consensus/raft-node.js';
import type { RaftMessage } from '../consensus/raft-messages.js';
import { statusOf, type TxStatus } from '../consensus/tx-status.js';
import { writeGenesis, type GenesisMember, type GenesisServiceConfiguration } from './genesis.js';
import { writeRecoveryCreate } from './recovery-create.js';
import { writeRecoveryOpen } from './recovery-open.js';
import { endorsePreviousIdentity } from './previous-identity-endorsement.js';
import { RECOVERY_VIEW_CHANGE } from '../ledger/endorsement-chain.js';
import { replayLedgerInTurns, type ReplayedLedger } from './ledger-replay.js';
import { restoreLedgerSecrets, type HistoricalSecretWrite } from '../governance/recovered-secrets.js';
import { submittedShares } from '../governance/submitted-shares.js';
import type { NodeIdentity, ServiceIdentity } from './identities.js';
import { LedgerDiskError } from './ledger-disk-error.js';
import { LedgerFiles } from './ledger-files.js';
import { HistoricalStates } from './historical-states.js';
import { CommitMarker, commitMarkerPath, readCommitMarker, restartCommitSeqno } from './commit-marker-file.js';
import { readConsensusState, writeConsensusState } from './consensus-state-file.js';
import { describeRetirement, retirementOf } from './retirement-at-restart.js';
import { retirementMarkerPath, writeRetirementMarker } from './retirement-marker-file.js';
import { changesNodes, nodeRecords, nodeToNodeAddress, readNodeRecords, readNow, readTrustedNodeIds, sameNodes } from './service-nodes.js';
import { receiveLedgerSecret, recordsServiceIdentity, writeLedgerSecretForNodes, type LedgerSecretReceiver } from './ledger-rekey.js';
import { hasRecoveryShares, issueRecoveryShares, recordPreviousLedgerSecret, RECOVERY_SHARES_MAP } from '../governance/recovery-shares.js';
import { EcdsaNoncePool } from './ecdsa-nonce-pool.js';
import { historySplitError, pastLogEndLine } from './history-split.js';
import { signatureRecordOf, type SignatureRecord } from './signature-record.js';
import { CoverageFromLedger, receiptOf, type Coverage } from './receipt-coverage.js';
import { ServiceEndorsements } from './service-endorsements.js';
import { serviceIdentitiesBefore } from './service-identity-history.js';
import { committedChunkHolding, committedChunksBefore, readCommittedEntriesFrom, type CommittedChunkDirectories } from './ledger-directory.js';
import { logLine, type LogLevel } from './buffered-log.js';
import { countAtMost } from '../sorted-search.js';
import { SnapshotDirectory, verifySnapshotFile, type LoadedSnapshot } from './snapshot-directory.js';
import { SnapshotEncoder, type EncodedSnapshot, type SnapshotInput } from '../ledger/snapshot.js';
import { decodeSnapshotEvidence, encodeSnapshotEvidence, SNAPSHOT_EVIDENCE_MAP, type SnapshotEvidence } from '../ledger/snapshot-evidence.js';
import { SINGLETON_KEY, singletonWrite } from '../ledger/signature.js';
import type { TxReceipt } from '../ledger/receipt.js';
import { SignaturePacing } from './signature-pacing.js';

/** A snapshot being encoded: at a signature, and on a backup with the primary's evidence for it. */
interface SnapshotJob {
  at: TxId;
  evidence?: TxId;
  previousSnapshotSeqno: number;
  cancelled: boolean;
}

/** CCF's first view: the genesis transaction is 2.1. */
export const INITIAL_VIEW = 2;

/** Whether a service in `status` is being recovered by its one node: until it opens, no other node joins. */
function recoveringAlone(status: string | undefined): boolean {
  return status === 'Recovering' || status === 'WaitingForRecoveryShares';
}

/** Chunk ends a backup keeps the state of, awaiting the primary's snapshot evidence for one of them. */
const CHUNK_END_STATES_MAX = 4;
/** Entries read at once from a chunk this node has no index for, listing the signatures in it. */
const COMMITTED_ENTRIES_PER_READ = 256;
/** How long one slice of snapshot writing may hold the event loop (as long as a slice of requests). */
const SNAPSHOT_SLICE_MS = 4;
/**
 * What one snapshot step does at most between two looks at the clock: keys written, and bytes
 * written (the key it is at whole), encrypted or hashed (about 1 ms of work on a slow machine).
 */
const SNAPSHOT_STEP_KEYS = 512;
const SNAPSHOT_STEP_BYTES = 512 * 1024;
/**
 * Committed transactions whose receipt material a node keeps in memory by default: about 100 bytes
 * each, and a signature record per signature among them; older receipts are read from the ledger.
 */
export const RECEIPTS_IN_MEMORY_DEFAULT = 100_000;
const seqnoOf = (signature: SignatureRecord): number => signature.seqno;
/** Why a finished snapshot's evidence may not be writable now; the next snapshot due tries again. */
const SNAPSHOT_EVIDENCE_REFUSALS = new Set(['NotPrimary', 'TooManyPendingTransactions', 'NodeCannotHandleRequest', 'NodeFailed']);
/** Runs of an asynchronous transaction before a conflict is reported rather than retried. */
const ASYNC_ATTEMPTS_MAX = 16;
/**
 * How often a primary says again that a backup needs a snapshot (and looks again whether its ledger
 * holds what the backup lacks, in case an operator put the chunks back): not at each heartbeat.
 */
export const SNAPSHOT_ADVICE_REPEAT_MS = 5 * 60_000;

/** How consensus messages leave the node; `channels/` implements it, tests may loop it back. */
export interface ConsensusTransport {
  send(message: RaftMessage): void;
  /** The other nodes of the active configurations, with their node-to-node addresses. */
  setPeers(peers: ReadonlyMap<string, string>): void;
}

export interface ConsensusTiming {
  tickMs: number;
  electionTimeoutTicks: number;
  heartbeatTicks: number;
  /** Committed entries kept in memory for lagging backups (consensus' default if absent); older ones are read back from the ledger files. */
  retainedEntries?: number;
}

/** CCF's phases of a node's retirement (`/node/consensus` `retirement_phase`). */
export type RetirementPhase = 'Ordered' | 'Signed' | 'Completed' | 'RetiredCommitted';

/**
 * Where a node's log starts: a new service, joining one, its own ledger after a restart, or the
 * public domain of a previous service's ledger in a disaster recovery (CCF's Recover).
 */
export type NodeStart =
  | { kind: 'start' }
  | { kind: 'join' }
  | { kind: 'resume'; replayed: ReplayedLedger }
  | { kind: 'recover'; replayed: ReplayedLedger; previousServiceCertPem: string };

/** What the first transaction of a service (its genesis, or a recovery's) records of the node that writes it. */
interface FirstTransactionFields {
  txId: TxId;
  serviceCertPem: string;
  nodeId: string;
  nodeInfo: NodeInfo;
  endorsedNodeCertPem: string;
}

/** A disaster recovery under way: what the previous service's ledger gave its public replay. */
interface RecoveryProgress {
  previousServiceCertPem: string;
  /** The previous service's last signature: its entries end there. */
  lastSeqno: number;
  ledgerSecretHistory: HistoricalSecretWrite[];
  /** The previous service's snapshot the public replay started from: its private maps wait for the restored secrets. */
  snapshot: LoadedSnapshot | undefined;
  /** 'private' once members' shares restored the ledger secrets and the private domain is replayed, until the service opens. */
  phase: 'public' | 'private';
}

export interface NodeOptions {
  node: NodeIdentity;
  service: ServiceIdentity;
  endorsedNodeCertPem: string;
  nodeInfo: NodeInfo;
  ledgerDirectory: string;
  /** Directories of older committed chunks the node reads but never writes (CCF's `ledger.read_only_directories`). */
  ledgerReadOnlyDirectories?: readonly string[];
  /** Where the node keeps its view and vote (Raft's hard state). */
  consensusStateFile: string;
  ledgerChunkBytes: number;
  signatureTxCount: number;
  signatureDelayMs: number;
  /** CCF's consensus.max_uncommitted_tx_count: past it, writes are refused until commit catches up. */
  maxUncommittedTxCount: number;
  /** Bytes of uncommitted ledger entries past which writes are refused the same way (UNCOMMITTED_ENTRY_BYTES_DEFAULT if absent). */
  maxUncommittedBytes?: number;
  consensus: ConsensusTiming;
  transport: ConsensusTransport;
  /** A monotonic clock (ms) for the node's timers: consensus ticks, signature pacing. */
  nowMs: () => number;
  /**
   * The time of day (ms since the epoch) that signatures record; `nowMs` when absent. Kept apart so
   * that a wall clock stepped back (by NTP, by hand) cannot stall consensus for the size of the step.
   */
  wallClockMs?: () => number;
  /** The share of the time since the previous call the event loop spent busy, 0 to 1 (absent: never busy). */
  eventLoopBusyShare?: () => number;
  ledgerSecrets: LedgerSecrets;
  /** The node's RSA key pair that rekeys encrypt new ledger secrets to (absent: it receives none). */
  encryptionKeyPair?: KeyPair;
  /** Keeps the ledger secrets where a restart finds them; called whenever they change. */
  persistLedgerSecrets?: (secrets: readonly LedgerSecret[]) => void;
  start: NodeStart;
  /** CCF's snapshots: a snapshot every `txCount` transactions, kept in `directory` (the latest `maxSnapshots`, if set). */
  snapshots: { directory: string; txCount: number; maxSnapshots?: number };
  /**
   * Committed transactions whose receipt material (Merkle leaves, digests, signatures) stays in
   * memory (RECEIPTS_IN_MEMORY_DEFAULT if absent); older receipts are read back from the ledger.
   */
  receiptsInMemory?: number;
  /** CCF's historical_cache_soft_limit: what the states cached for historical queries may keep alive (HistoricalStates' default if absent). */
  historicalCacheSoftLimitBytes?: number;
  /** Node-to-node addresses learnt before the log has them (a joiner learns its primary's on join). */
  knownPeerAddresses?: ReadonlyMap<string, string>;
  /** Called once when the node stops applying transactions (its reason already logged): its host ends it. */
  onFailure?: (error: Error) => void;
}

export interface GenesisOptions {
  members: GenesisMember[];
  constitution: string;
  recoveryThreshold: number;
  configuration?: GenesisServiceConfiguration;
  serviceData: unknown;
  /** What the layers above the node record in the genesis transaction too (the Ethereum chain's settings). */
  adapterWrites?: (tx: Transaction) => void;
  /** CCF's `cose_signatures`: what the service's COSE signatures name as issuer and subject. */
  coseSignatures?: CoseSignatureClaims;
}

export interface TransactionOutcome<R> {
  result: R;
  /** Whether to commit the transaction's writes (CCF: a 2xx response, or setApplyWrites). */
  applyWrites: boolean;
  claimsDigest?: Uint8Array | undefined;
}

export interface ConsensusRole {
  role: Role;
  view: number;
  leaderId: string | undefined;
}

/** What an operator reads in the log when this node's part in consensus changes. */
function roleLine({ role, view, leaderId }: ConsensusRole): string {
  switch (role) {
    case 'Leader':
      return `primary in view ${view}`;
    case 'Follower':
      return leaderId === undefined ? `backup in view ${view}, no primary known` : `backup in view ${view}, the primary is node ${leaderId.slice(0, 12)}`;
    case 'PreCandidate':
      return `no word from a primary for an election timeout: asking the other nodes whether to elect one (view ${view})`;
    case 'Candidate':
      return `candidate in view ${view}: asking the other nodes for their votes`;
  }
}

/** Where a restarted node (or a joiner given a snapshot) starts: the operator's check that it kept its data. */
function resumeLine({ snapshot, lastTxId, committedSeqno }: ReplayedLedger): string {
  const from =
    snapshot === undefined
      ? `its ledger to seqno ${lastTxId.seqno}`
      : `snapshot ${snapshot.name} (seqno ${snapshot.txId.seqno})${lastTxId.seqno > snapshot.txId.seqno ? ` and ledger entries to seqno ${lastTxId.seqno}` : ''}`;
  return `resumed from ${from}: last transaction ${formatTxId(lastTxId)}, committed to seqno ${committedSeqno}`;
}

/**
 * Why a chunk that ends before the snapshot a restart starts from is set aside, in words that stay
 * true: it is not named committed, so the replay does not take it; whether its entries committed is
 * known only as far as the node's commit marker (`marker`) vouches for them.
 */
function setAsideLine(name: string, setAsideAs: string, lastSeqno: number, snapshot: { name: string; txId: TxId }, marker: TxId | undefined): string {
  const first = parseChunkName(name)?.first ?? lastSeqno;
  const ends =
    lastSeqno < snapshot.txId.seqno
      ? `ends at seqno ${lastSeqno}, before snapshot ${snapshot.name} (seqno ${snapshot.txId.seqno}), which this node starts from, and is not contiguous with it`
      : `ends at snapshot ${snapshot.name}, which this node starts from, and its name claims the seqnos after it`;
  const committed =
    marker !== undefined && marker.seqno >= first
      ? `this node committed its entries up to seqno ${Math.min(marker.seqno, lastSeqno)}, as its commit marker says, but stopped before the chunk was completed and marked committed`
      : 'whether its entries committed is not known here: a primary may have rolled them back since';
  return `${name} ${ends}; it is not a committed chunk (${committed}), and a node keeps only committed chunks before its snapshot: set aside as ${setAsideAs}, kept for inspection but never read again`;
}

/** Whether a read of the node's own chunk files failed because none of them holds the seqno (before them or after). */
function notInOwnChunks(error: unknown): boolean {
  return error instanceof CocoError && (error.code === 'ResourceNotFound' || error.code === 'TransactionPendingOrUnknown');
}

/** Why this node stopped being primary, in words that point the operator at the cause. */
function stepDownLine(stepDown: StepDown): string {
  const short = (id: string) => id.slice(0, 12);
  if (stepDown.cause === 'newer-view') {
    return `stepped down as primary of view ${stepDown.view}: node ${short(stepDown.from)} is in view ${stepDown.newView} (the others elected a primary while this node was cut off or paused)`;
  }
  return `stepped down as primary of view ${stepDown.view}: no word for an election timeout from node ${stepDown.unheard.map(short).join(', node ')}, so it no longer reaches a majority (check those nodes and the network to them)`;
}

export class Node {
  readonly store: Store;
  private readonly writer: LedgerWriter;
  private readonly files: LedgerFiles;
  private readonly raft: RaftNode;
  private roleNow: ConsensusRole;
  private lastSeqno = 0;
  private commitSeqno = 0;
  private writesSinceSignature = 0;
  private lastSignatureAtMs = 0;
  private readonly signaturePacing = new SignaturePacing();
  private signatureTimer: NodeJS.Timeout | undefined;
  private readonly nonces = new EcdsaNoncePool();
  /** Where consensus time stands, in the clock of `nowMs` (see tick). */
  private lastTickAtMs: number;
  private readonly tickTimer: NodeJS.Timeout;
  private syncing = false;
  private syncRequested = false;
  /** Counts rollbacks, so that an fsync that straddled one does not vouch for entries it never saw. */
  private rollbacks = 0;
  private processingReady = false;
  /** The configurations changed: a retirement may have committed, to be recorded by the primary. */
  private retirementsToRecord = false;
  private stopped = false;
  /** Set once the service said this node's retirement committed (see retire). */
  private retired = false;
  /**
   * A signature entry of this log that the service reported Committed when it told this node it
   * retired: a retired backup's own commit may stop short of it (see retire); 0 when none.
   */
  private committedAsServiceSays = 0;
  private failure: Error | undefined;
  private readonly commitWaiters: { seqno: number; resolve: () => void }[] = [];
  /** Per seqno from `firstSeqno` on: what a receipt for it reveals besides the commit evidence. */
  private readonly leafDigests: LeafDigests;
  /** The first seqno this node holds entries of: 1, or the one after the snapshot it started from. */
  private readonly firstSeqno: number;
  /** The Trusted nodes at the snapshot this node started from (none without one). */
  private readonly startupConfiguration: readonly string[];
  /** What this node's ledger holds before that snapshot, once a backup lacked it (see ledger-before-start.ts). */
  private ledgerBeforeStart: 'unread' | 'reading' | 'held' | { lacking: string; readAtMs: number } = 'unread';
  /** As primary: backups that lack entries from before that snapshot, with when the operator was last told (undefined: not yet). */
  private readonly backupsNeedingSnapshot = new Map<string, number | undefined>();

  /** Where committed chunks are read from: the node's own ledger directory, then the read-only ones. */
  get committedChunkDirectories(): CommittedChunkDirectories {
    return [this.options.ledgerDirectory, ...(this.options.ledgerReadOnlyDirectories ?? [])];
  }

  /** The seqno of the snapshot this node started from (CCF's startup_seqno); 0 when it holds the ledger from the start. */
  get startupSeqno(): number {
    return this.firstSeqno - 1;
  }
  /**
   * The first seqno of the current service: 1, or the recovery transaction that gave it its identity.
   * Snapshots before it are the previous service's (a recovery from a snapshot keeps the one it
   * started from): no joiner of this service can verify them.
   */
  get serviceStartSeqno(): number {
    const created = readNow(this.store, readServiceInfo)?.current_service_create_txid;
    return created === undefined ? 1 : parseTxId(created).seqno;
  }
  readonly snapshots: SnapshotDirectory;
  private lastSnapshotSeqno = 0;
  /** The snapshot being written, a slice per turn of the event loop (on a backup, for the evidence it follows). */
  private snapshotInProgress: SnapshotJob | undefined;
  /** The primary's snapshots this backup has yet to encode, oldest first, with the digest each must have. */
  private snapshotsToFollow: { job: SnapshotJob & { evidence: TxId }; state: SnapshotInput; digest: Uint8Array }[] = [];
  /**
   * On a backup: the state at the last signatures that closed a ledger chunk, where the primary
   * snapshots (its evidence comes once the snapshot is written, after more chunks may have closed).
   */
  private statesAtChunkEnds: SnapshotInput[] = [];
  /** Governance's `trigger_snapshot`: the next signature snapshots, whatever the interval says. */
  private snapshotRequested = false;
  /** Snapshots whose evidence transaction awaits commit. */
  private pendingSnapshots: { seqno: number; evidence: TxId; snapshot: readonly Uint8Array[] }[] = [];
  /** The signature transactions whose receipt material is in memory (see `forgetOldReceipts`), in seqno order. */
  private readonly signatures: SignatureRecord[] = [];
  /** Receipts of transactions older than those, read back from the ledger files. */
  private readonly coverageFromLedger: CoverageFromLedger;
  /** What receipts signed before the last disaster recovery carry to verify against this service's certificate. */
  private readonly serviceEndorsements: ServiceEndorsements;
  private readonly signerCerts = new Map<string, string>();
  /** The last failure to read entries for each backup being caught up from the ledger files. */
  private readonly loadFailures = new Map<string, string>();

  readonly historical: HistoricalStates;
  /** A recovering node signs nothing before its recovery transaction, the first of the recovered service. */
  private awaitingRecoveryCreate: boolean;
  /** Until a recovered service opens. */
  private recovery: RecoveryProgress | undefined;
  /** The service's `cose_signatures`, once read from its genesis record (see signatureClaims). */
  private coseSignatureClaims: CoseSignatureClaims | undefined;
  /** A resumed node checks once, when it first leads, whether it stopped while opening a recovered service. */
  private openingAtResume: boolean;
  private readonly secretReceiver: LedgerSecretReceiver;
  private readonly commitMarker: CommitMarker;
  /** The seqno the commit marker names (0: none written by this process). */
  private markedCommitSeqno = 0;

  constructor(readonly options: NodeOptions) {
    this.files = new LedgerFiles(options.ledgerDirectory);
    const secrets = options.ledgerSecrets;
    this.secretReceiver = { nodeId: options.node.nodeId, encryptionPrivateKeyPem: options.encryptionKeyPair?.privateKeyPem, secrets };
    const replayed = options.start.kind === 'resume' || options.start.kind === 'recover' ? options.start.replayed : undefined;
    const recovering = options.start.kind === 'recover';
    this.awaitingRecoveryCreate = recovering;
    this.openingAtResume = options.start.kind === 'resume';
    if (options.start.kind === 'recover') {
      const { replayed: publicOnly, previousServiceCertPem } = options.start;
      this.recovery = { previousServiceCertPem, lastSeqno: publicOnly.lastTxId.seqno, ledgerSecretHistory: publicOnly.ledgerSecretHistory ?? [], snapshot: publicOnly.snapshot, phase: 'public' };
    }
    const base = replayed?.snapshot;
    this.store = replayed?.store ?? new Store();
    this.firstSeqno = (base?.txId.seqno ?? 0) + 1;
    this.startupConfiguration = replayed?.baseConfiguration ?? [];
    this.leafDigests = replayed?.leafDigests ?? new LeafDigests(this.firstSeqno);
    this.snapshots = new SnapshotDirectory(options.snapshots.directory, options.snapshots.maxSnapshots);
    this.lastSnapshotSeqno = base?.txId.seqno ?? 0;
    let openChunkBytes = 0;
    const markerPath = commitMarkerPath(options.consensusStateFile);
    if (replayed !== undefined) {
      const marker = readCommitMarker(markerPath);
      // A recovery takes every signed entry of the previous service as final (CCF's force_become_primary),
      // and a recovering node its own until the service opens: it is alone in it (joiners wait for the opening).
      const final = recovering || recoveringAlone(readNow(this.store, readServiceInfo)?.status);
      replayed.committedSeqno = final ? replayed.lastTxId.seqno : restartCommitSeqno(replayed.committedSeqno, marker, replayed.entries);
      const setAsideAs = this.files.setAside(replayed.setAside);
      openChunkBytes = this.files.resume(replayed.chunks, replayed.committedSeqno);
      const torn = replayed.tornEntry;
      if (torn !== undefined) this.logLine(`${torn.file} ends in entry ${torn.seqno} written only in part (${torn.bytes} bytes) when the node stopped: dropped, the file cut back to its last whole entry`);
      const tornChunk = replayed.tornChunk;
      if (tornChunk !== undefined) {
        this.logLine(`${tornChunk.file} holds no whole entry (${tornChunk.bytes} bytes: the node stopped just after creating it): deleted; the node resumes after seqno ${replayed.lastTxId.seqno} and takes the entries after it from the primary`);
      }
      for (const [i, name] of replayed.setAside.entries()) this.logLine(setAsideLine(name, setAsideAs[i]!, replayed.setAsideLastSeqnos.get(name)!, base!, marker));
      this.lastSeqno = replayed.lastTxId.seqno;
      this.commitSeqno = replayed.committedSeqno;
      this.logLine(resumeLine(replayed), 'info');
      for (const signature of replayed.signatures) this.keepSignature(signature);
    }
    this.commitMarker = new CommitMarker(markerPath);
    const persisted = recovering ? undefined : readConsensusState(options.consensusStateFile);
    // A new service's node campaigns from view 1 into view 2, CCF's first view; a recovery's, into
    // the previous service's last view + 2, CCF's first view of a recovered service.
    const initialView = options.start.kind === 'start' ? INITIAL_VIEW - 1 : (replayed?.lastTxId.view ?? 0) + (recovering ? RECOVERY_VIEW_CHANGE - 1 : 0);
    const hardState: HardState = persisted !== undefined && persisted.view >= initialView ? persisted : { view: initialView, votedFor: undefined };
    // The previous service's nodes are gone: the recovering node alone is the configuration, and the
    // replayed entries set none (its recovery transaction retires them all).
    if (recovering) for (const entry of replayed!.entries) delete entry.configuration;
    this.raft = new RaftNode({
      id: options.node.nodeId,
      configuration: options.start.kind === 'start' || recovering ? [options.node.nodeId] : (replayed?.baseConfiguration ?? []),
      electionTimeoutTicks: options.consensus.electionTimeoutTicks,
      heartbeatTicks: options.consensus.heartbeatTicks,
      random: Math.random,
      ...(options.consensus.retainedEntries !== undefined && { retainedEntries: options.consensus.retainedEntries }),
      initial: {
        hardState,
        entries: replayed?.entries ?? [],
        commitSeqno: this.commitSeqno,
        ...(base && { base: { seqno: base.txId.seqno, view: base.txId.view, viewHistory: base.viewHistory } }),
      },
    });
    this.roleNow = { role: this.raft.role, view: this.raft.currentView, leaderId: this.raft.leaderId };
    const retirement = replayed && !recovering ? retirementOf(this.nodeId, replayed, this.commitSeqno, retirementMarkerPath(options.consensusStateFile)) : undefined;
    // Consensus holds the replayed entries now, and drops the committed ones it need not keep.
    if (replayed !== undefined) replayed.entries = [];
    // Before the snapshot this node started from, its index of chunks knows nothing: the directories
    // may (chunks-before-start.ts), so that a request for what they lack is answered at once.
    const olderChunks = new ChunksBeforeStart(() => (this.firstSeqno > 1 ? committedChunksBefore(this.committedChunkDirectories, this.firstSeqno) : []), options.nowMs);
    // Its own chunks first; those it lacks (before its snapshot, or replayed at a restart from a
    // read-only directory) from the committed chunks of its directories.
    const readEntry = async (seqno: number) => {
      if (seqno >= this.firstSeqno) {
        try {
          return await this.files.readEntry(seqno);
        } catch (error) {
          if (!notInOwnChunks(error)) throw error;
        }
      }
      return (await readCommittedEntriesFrom(this.committedChunkDirectories, seqno, 1))?.[0] ?? this.files.readEntry(seqno);
    };
    const mayHold = (seqno: number) => seqno >= this.firstSeqno || olderChunks.holds(seqno);
    this.serviceEndorsements = new ServiceEndorsements(
      options.service,
      () => this.previousServiceIdentity(),
      () => serviceIdentitiesBefore(readNow(this.store, readServiceInfo)?.previous_service_identity_version, async (seqno) => (await readEntry(seqno)).bytes),
    );
    this.coverageFromLedger = new CoverageFromLedger({
      readEntry,
      readCommittedFrom: (seqno) => readCommittedEntriesFrom(this.committedChunkDirectories, seqno, COMMITTED_ENTRIES_PER_READ),
      committedChunkHolding: async (seqno) => {
        const file = await committedChunkHolding(this.committedChunkDirectories, seqno);
        return file && { name: file.name, first: file.chunk.first, last: file.chunk.last! };
      },
      commitEvidenceFor: (txId) => this.writer.commitEvidenceFor(txId),
      serviceCertPem: options.service.certPem,
      endorsementsFor: (signerCertPem) => this.serviceEndorsements.forSigner(signerCertPem),
      mayHold,
    });
    this.historical = new HistoricalStates({
      readEntry,
      mayHold,
      signedLeaf: (seqno) => this.signedLeaf(seqno),
      ledgerSecretFor: (seqno) => secrets.keyFor(seqno),
      receipt: (txId) => this.receipt(txId),
      receiptSettled: (txId) => this.coverageFromLedger.settled(txId.seqno),
    }, options.historicalCacheSoftLimitBytes);
    this.writer = new LedgerWriter({
      view: Math.max(hardState.view, INITIAL_VIEW),
      secrets,
      identity: {
        nodePrivateKeyPem: options.node.keyPair.privateKeyPem,
        nodeCertPem: options.endorsedNodeCertPem,
        servicePrivateKeyPem: options.service.keyPair.privateKeyPem,
        serviceCertPem: options.service.certPem,
      },
      chunkBytesTarget: options.ledgerChunkBytes,
      nonces: (curve) => this.nonces.take(curve),
      // Only a primary signs, and it holds the whole state: the genesis record is there. It never
      // changes, so it is read once, not at every signature.
      signatureClaims: () => (this.coseSignatureClaims ??= recordedCoseSignatureClaims(this.store.beginTransaction())) ?? NO_COSE_SIGNATURE_CLAIMS,
      ...(replayed === undefined
        ? {}
        : {
            resume: {
              tree: replayed.tree,
              seqno: replayed.lastTxId.seqno,
              signatureSeqno: replayed.signatures.at(-1)?.seqno ?? base?.txId.seqno ?? 0,
              chunkBytes: openChunkBytes,
              views: replayed.views,
            },
          }),
    });
    this.forgetOldReceipts(); // a restart replays the whole ledger after its snapshot
    this.lastTickAtMs = options.nowMs();
    this.tickTimer = setInterval(() => this.keepTime(), options.consensus.tickMs);
    this.tickTimer.unref();
    // Retirement is final: a node restarted after its removal committed takes no part again, rather
    // than wait, cut off, for a primary that no longer replicates to it (its reads frozen). The
    // `coco node` command refuses to start such a node (see retirementAtRestart).
    if (retirement !== undefined) {
      this.retired = true;
      this.options.transport.setPeers(new Map());
      this.logLine(`this node retired from the service${describeRetirement(retirement)}; it takes no further part: stop it`, 'info');
    }
    // A joiner knows no configuration yet: it dials the nodes it learnt of when it joined now, so
    // that a primary that lost its lease before reaching it can still get its vote.
    if (this.raft.configurations.length === 0) this.updatePeers();
    this.processReady();
    // Alone in its configuration, a restarted node need not wait for an election timeout.
    const configurations = this.raft.configurations;
    if (options.start.kind === 'resume' && configurations.length === 1 && sameNodes(configurations[0], [this.nodeId])) {
      this.raft.startElection();
      this.processReady();
    }
  }

  get nodeId(): string {
    return this.options.node.nodeId;
  }

  /** One line of the log for the operator, with the time, its level and this node's ID: role changes are news, the rest warnings. */
  private logLine(line: string, level: LogLevel = 'warn'): void {
    logLine(level, `coco node ${this.nodeId.slice(0, 12)}: ${line}`);
  }

  get role(): ConsensusRole {
    return this.roleNow;
  }

  get isPrimary(): boolean {
    return this.roleNow.role === 'Leader';
  }

  /**
   * CCF's `stop_notice`: this node's retirement committed, so it takes no further part and its
   * operator can stop it. A primary learns it from its own log when it hands over; a retired node
   * whose last configurations still held it when the primary stopped replicating to it learns this
   * from the service (retire).
   */
  get stopNotice(): boolean {
    return this.retired;
  }

  /**
   * What a retired node answers to a request it cannot serve (`refusal`: "takes no writes", "knows
   * no primary"): retirement is final, so no retry here helps; another node can answer.
   */
  retiredError(refusal: string): CocoError {
    return new CocoError('NodeRetired', `this node has retired from the service (its retirement committed) and ${refusal}; send requests to another node of the service (GET /node/network/nodes there lists them)`);
  }

  /**
   * The service recorded this node's retirement as committed (`learntFrom` says how it told it): it
   * stops campaigning and talking to the others, and keeps what it learnt for its restarts, which its
   * own ledger may never show (see retirement-marker-file.ts). `committedSignature`, a signature
   * entry of this log that the service reports Committed, is what this node then knows committed:
   * the primary replicates to the others only, so this node may never hear it from consensus.
   */
  retire(learntFrom: string, committedSignature?: TxId): void {
    if (this.retired || this.isPrimary) return;
    this.retired = true;
    if (committedSignature !== undefined && this.holdsSignature(committedSignature)) this.committedAsServiceSays = committedSignature.seqno;
    this.options.transport.setPeers(new Map());
    try {
      writeRetirementMarker(retirementMarkerPath(this.options.consensusStateFile), { nodeId: this.nodeId, learntFrom });
    } catch (error) {
      this.logLine(`cannot record its retirement in ${retirementMarkerPath(this.options.consensusStateFile)} (${(error as Error).message}): a restart would take part again until the service tells it once more`);
    }
  }

  /**
   * A primary that handed over saw its own removal commit: it is retired at once, as CCF's is,
   * rather than answering as a backup awaiting an election until the others confirm it (a client
   * asked it again for seconds). Its connections close a turn later: the commit and nomination it
   * just sent are still corked on them.
   */
  private retireAfterHandover(): void {
    this.retired = true;
    setImmediate(() => {
      if (!this.stopped) this.options.transport.setPeers(new Map());
    });
  }

  /**
   * A disaster recovery's first transaction, right after the previous service's last signature, in
   * a view two past its last (CCF's recovery `create`): the service under this node's new identity,
   * Recovering, the previous nodes retired and this one Trusted. Signed at once, as genesis is.
   */
  recoveryCreate(): TxId {
    invariant(this.options.start.kind === 'recover' && this.awaitingRecoveryCreate, 'a recovery writes its create transaction once, first');
    return this.firstTransaction(writeRecoveryCreate);
  }

  /**
   * The first transaction of a service this node starts or recovers: it leads at once, alone in its
   * configuration, writes the transaction with what it knows of itself, and signs it.
   */
  private firstTransaction(write: (tx: Transaction, first: FirstTransactionFields) => void): TxId {
    this.raft.startElection();
    this.processReady();
    invariant(this.isPrimary, 'the node that starts or recovers a service leads it');
    this.awaitingRecoveryCreate = false;
    const first: FirstTransactionFields = {
      txId: { view: this.raft.currentView, seqno: this.lastSeqno + 1 },
      serviceCertPem: this.options.service.certPem,
      nodeId: this.nodeId,
      nodeInfo: this.options.nodeInfo,
      endorsedNodeCertPem: this.options.endorsedNodeCertPem,
    };
    const { txId } = this.execute((tx) => {
      write(tx, first);
      return { result: undefined, applyWrites: true };
    });
    this.emitSignature();
    return txId!;
  }

  /** Whether this node recovers a service that has not opened yet. */
  get recovering(): boolean {
    return this.recovery !== undefined;
  }

  /** Whether this node replays the previous service's private ledger now (CCF's ReadingPrivateLedger). */
  get readingPrivateLedger(): boolean {
    return this.recovery?.phase === 'private';
  }

  /** The ledger secret that seals what is written now (members' recovery shares are kept encrypted under it). */
  get latestLedgerSecret(): Uint8Array {
    const secrets = this.options.ledgerSecrets;
    return secrets.keyFor(secrets.latestFromSeqno);
  }

  /**
   * In the transaction where members' recovery shares reach the threshold: restores the previous
   * service's ledger secrets from them (a CocoError if they do not), and once that transaction
   * commits, replays the previous service's private domain and opens the service.
   */
  restorePreviousLedgerSecrets(tx: Transaction): void {
    const recovery = this.recovery;
    if (recovery?.phase !== 'public') throw new CocoError('InvalidState', 'this node is not waiting for recovery shares');
    const threshold = readServiceConfig(tx)?.recovery_threshold ?? 0;
    const restored = restoreLedgerSecrets({
      recoveryShares: tx.map(RECOVERY_SHARES_MAP).get(SINGLETON),
      historicalWrites: recovery.ledgerSecretHistory,
      submittedShares: submittedShares(tx, this.latestLedgerSecret),
      recoveryThreshold: threshold,
    });
    recovery.phase = 'private';
    void this.waitForCommit(this.lastSeqno + 1).then(() => this.recoverPrivateLedger(recovery, restored));
  }

  /**
   * CCF's private recovery: the previous service's ledger replayed again (whole, or from the snapshot
   * the public replay started from) under the restored secrets, up to its last signature; its
   * private maps become this store's (the recovered service wrote none meanwhile: its app is closed
   * until it opens), the restored secrets join this node's, and the service opens. A failure here stops the node: its private state would be incomplete.
   * The replay takes a chunk per turn of the event loop: the node answers meanwhile (its state is
   * ReadingPrivateLedger).
   */
  private async recoverPrivateLedger(recovery: RecoveryProgress, restored: LedgerSecret[]): Promise<void> {
    if (this.stopped || this.failure !== undefined) return;
    try {
      this.logLine(`replaying the private domain of the previous service's ledger to seqno ${recovery.lastSeqno} with the ${restored.length} ledger secret(s) the recovery shares restored`, 'info');
      // Sealed before the replay: a node that stops from here on resumes with every secret (its
      // restart replays the private domain too) and opens (see openingAtResume), rather than
      // recovering again under a new identity.
      this.options.ledgerSecrets.restoreEarlier(restored);
      this.persistLedgerSecrets();
      const secrets = new LedgerSecrets(restored);
      const receiver = { nodeId: this.nodeId, encryptionPrivateKeyPem: this.options.encryptionKeyPair?.privateKeyPem, secrets };
      // The snapshot again, its private maps decrypted this time.
      const previous = recovery.snapshot;
      const snapshot = previous && verifySnapshotFile(previous.name, previous.fileBytes, recovery.previousServiceCertPem, secrets);
      const replayed = await replayLedgerInTurns(this.options.ledgerDirectory, receiver, recovery.previousServiceCertPem, snapshot, this.options.ledgerReadOnlyDirectories ?? [], { applyUpTo: recovery.lastSeqno });
      if (this.stopped || this.failure !== undefined) return;
      this.store.installPrivateMaps(replayed.store);
      this.recovery = undefined;
      this.openRecoveredService(restored.at(-1)!);
    } catch (error) {
      this.fail(error as Error);
    }
  }

  /** The opening of a recovered service whose previous secrets this node holds, the last being `previous`. */
  private openRecoveredService(previous: LedgerSecret): void {
    const secrets = this.options.ledgerSecrets;
    const latest = { fromSeqno: secrets.latestFromSeqno, key: this.latestLedgerSecret };
    const { txId } = this.execute((tx) => {
      writeRecoveryOpen(tx, { latest, previous, serviceKeyPair: this.options.service.keyPair, issuedAtSeconds: this.wallClockSeconds() });
      return { result: undefined, applyWrites: true };
    });
    // As CCF's, the recovered service snapshots its whole state at once.
    this.requestSnapshot();
    this.logLine(`the recovered service is open at ${formatTxId(txId!)}: the previous service's private state is restored`, 'info');
  }

  /**
   * A recovering node that stopped after its shares restored the previous service's secrets (it
   * sealed them) and before its opening was signed resumes in WaitingForRecoveryShares, its private
   * state replayed with those secrets: once it leads, it opens the service it was opening.
   */
  private finishOpeningAtResume(): void {
    this.openingAtResume = false;
    const info = readNow(this.store, readServiceInfo);
    if (info?.status !== 'WaitingForRecoveryShares' || info.current_service_create_txid === undefined) return;
    const createSeqno = parseTxId(info.current_service_create_txid).seqno;
    const previous = this.options.ledgerSecrets.all().filter((secret) => secret.fromSeqno < createSeqno).at(-1);
    if (previous === undefined) return;
    this.logLine("resuming a recovery whose shares restored the previous service's ledger secrets before this node stopped: opening the service", 'info');
    this.openRecoveredService(previous);
  }

  /** Writes the genesis transaction and signs it at once, as CCF does. */
  genesis(options: GenesisOptions): TxId {
    invariant(this.options.start.kind === 'start' && this.lastSeqno === 0, 'genesis is the first transaction of a new service');
    return this.firstTransaction((tx, first) =>
      writeGenesis(tx, {
        ...first,
        serviceData: options.serviceData,
        recoveryThreshold: options.recoveryThreshold,
        ...(options.configuration && { configuration: options.configuration }),
        ...(options.adapterWrites && { adapterWrites: options.adapterWrites }),
        ...(options.coseSignatures && { coseSignatures: options.coseSignatures }),
        members: options.members,
        constitution: options.constitution,
      }),
    );
  }

  /**
   * Runs `handler` in one transaction. Its writes are committed, at the next seqno, only if it asks
   * to apply them; a read-only or discarded transaction gets no seqno and reports the last TxID.
   * Writes need the primary (CocoError 'NotPrimary') and room for more uncommitted transactions
   * ('TooManyPendingTransactions').
   */
  execute<R>(handler: (tx: Transaction) => TransactionOutcome<R>): { result: R; txId: TxId | undefined } {
    this.checkServing();
    const tx = this.store.beginTransaction();
    let outcome: TransactionOutcome<R>;
    try {
      outcome = handler(tx);
    } catch (error) {
      tx.abort();
      throw error;
    }
    return this.finish(tx, outcome);
  }

  /**
   * Runs an asynchronous handler (the EVM's API is asynchronous) in one transaction. Other
   * transactions may commit while it awaits; if one of them changed what it read, the commit is
   * refused and the handler runs again on the new state, so the outcome is as if it ran alone.
   */
  async executeAsync<R>(handler: (tx: Transaction) => Promise<TransactionOutcome<R>>): Promise<{ result: R; txId: TxId | undefined }> {
    for (let attempt = 1; ; attempt++) {
      this.checkServing();
      const tx = this.store.beginTransaction();
      let outcome: TransactionOutcome<R>;
      try {
        outcome = await handler(tx);
      } catch (error) {
        tx.abort();
        throw error;
      }
      try {
        return this.finish(tx, outcome);
      } catch (error) {
        if (!(error instanceof CocoError && error.code === 'TransactionConflict') || attempt >= ASYNC_ATTEMPTS_MAX) throw error;
      }
    }
  }

  /** Commits a handler's transaction if it asks to, at the next seqno, and proposes it. */
  private finish<R>(tx: Transaction, outcome: TransactionOutcome<R>): { result: R; txId: TxId | undefined } {
    if (!outcome.applyWrites || !tx.hasWrites) {
      tx.abort();
      return { result: outcome.result, txId: undefined };
    }
    try {
      this.checkCanWrite();
    } catch (error) {
      tx.abort();
      throw error;
    }
    const seqno = this.lastSeqno + 1;
    const writeSet = this.store.commit(tx, BigInt(seqno));
    const appended = this.writer.appendTransaction(writeSet, outcome.claimsDigest);
    if (appended.entry.length > ENTRY_BYTES_MAX) {
      // Too large to replicate: undo it here, before anything else saw it.
      this.store.rollback(BigInt(seqno - 1));
      this.writer.truncate(seqno - 1, { lastSignatureSeqno: this.writer.lastSignatureSeqno, openChunkBytes: this.onLedgerFiles(() => this.files.truncate(seqno - 1)) });
      throw new CocoError('TransactionTooLarge', `the transaction's ledger entry is ${appended.entry.length} bytes, over the ${ENTRY_BYTES_MAX} a node replicates; write less per transaction`);
    }
    this.receiveLedgerSecret(seqno, writeSet);
    const txId = this.propose(appended, false, this.configurationChange(writeSet));
    this.writesSinceSignature += 1;
    this.scheduleSignature();
    this.processReady();
    return { result: outcome.result, txId };
  }

  private checkServing(): void {
    if (this.failure !== undefined) throw this.failedError();
    if (this.stopped) throw new CocoError('NodeCannotHandleRequest', 'the node is stopping');
  }

  private failedError(): CocoError {
    return new CocoError('NodeFailed', `this node stopped applying transactions: ${this.failure!.message}`);
  }

  /** Whether the node still applies transactions: neither stopped nor failed. */
  get serving(): boolean {
    return !this.stopped && this.failure === undefined;
  }

  /**
   * Runs a change to the ledger files made outside consensus' batches (a failure in those stops the
   * node in processReady): a disk that refuses it stops the node there too, and the caller gets NodeFailed.
   */
  private onLedgerFiles<T>(change: () => T): T {
    try {
      return change();
    } catch (error) {
      if (!(error instanceof LedgerDiskError)) throw error;
      this.fail(error);
      throw this.failedError();
    }
  }

  /** Throws unless this node may write a transaction now. */
  checkCanWrite(): void {
    this.checkServing();
    if (this.retired) throw this.retiredError('takes no writes');
    if (!this.isPrimary) {
      throw new CocoError('NotPrimary', `this node is a backup; the primary is ${this.roleNow.leaderId ?? 'not known yet (an election is under way, or this node cannot reach the others)'}`);
    }
    if (!this.raft.acceptsWrites) {
      throw new CocoError('NotPrimary', 'this primary is retiring (the configuration that removes it committed): it commits what it accepted, then hands over to a successor; retry shortly');
    }
    const uncommitted = this.lastSeqno - this.commitSeqno;
    if (uncommitted >= this.options.maxUncommittedTxCount) {
      throw new CocoError('TooManyPendingTransactions', `${uncommitted} transactions await commit (consensus.max_uncommitted_tx_count is ${this.options.maxUncommittedTxCount}); retry shortly`);
    }
    const uncommittedBytes = this.raft.uncommittedEntryDataBytes;
    const maxUncommittedBytes = this.options.maxUncommittedBytes ?? UNCOMMITTED_ENTRY_BYTES_DEFAULT;
    if (uncommittedBytes >= maxUncommittedBytes) {
      throw new CocoError('TooManyPendingTransactions', `${uncommitted} transactions of ${uncommittedBytes} bytes await commit (at most ${maxUncommittedBytes} bytes are held uncommitted); retry shortly`);
    }
  }

  /** The configuration a write set sets, when it changes the Trusted nodes; undefined otherwise. */
  private configurationChange(writeSet: WriteSet): string[] | undefined {
    if (!changesNodes(writeSet)) return undefined;
    const trusted = readTrustedNodeIds(this.store);
    // Genesis records its configuration in the log too, as a replayed ledger does.
    return this.lastSeqno > 0 && sameNodes(trusted, this.raft.configurations.at(-1)) ? undefined : trusted;
  }

  /** Appends one entry this primary wrote to the ledger and hands it to consensus. */
  private propose(result: AppendResult, isSignature: boolean, configuration: string[] | undefined): TxId {
    this.record(result);
    const [txId] = this.raft.propose([{ data: result.entry, isSignature, ...(configuration && { configuration }) }]);
    invariant(txId !== undefined && txId.seqno === result.txId.seqno && txId.view === result.txId.view, 'consensus and the ledger agree on TxIDs');
    // A new configuration reaches the peers through the next Ready (its `configurations`).
    return txId;
  }

  private record(result: AppendResult): void {
    invariant(result.txId.seqno === this.lastSeqno + 1, 'seqnos are contiguous');
    this.onLedgerFiles(() => this.files.append(result));
    this.lastSeqno = result.txId.seqno;
    this.leafDigests.push(result.writeSetDigest, result.claimsDigest);
  }

  private scheduleSignature(): void {
    if (this.writesSinceSignature >= this.options.signatureTxCount) {
      this.emitSignature();
    } else if (this.signatureTimer === undefined) {
      // Under load, each signature covers more writes (see signature-pacing.ts).
      const spacingMs = this.signaturePacing.spacingMs(this.options.signatureDelayMs);
      const delayMs = Math.max(this.options.signatureDelayMs, this.lastSignatureAtMs + spacingMs - this.options.nowMs());
      // From a timer, a failure (a disk that refuses the signature's entry) stops the node rather than escaping uncaught.
      this.signatureTimer = setTimeout(() => {
        try {
          this.emitSignature();
        } catch (error) {
          this.fail(error as Error);
        }
      }, delayMs);
    }
  }

  private cancelSignature(): void {
    if (this.signatureTimer !== undefined) clearTimeout(this.signatureTimer);
    this.signatureTimer = undefined;
  }

  /** Signs everything so far; `force` signs even right after a signature (a new view's first entry). */
  private emitSignature(force = false): void {
    this.cancelSignature();
    if (this.stopped || this.failure !== undefined || !this.isPrimary) return;
    if (this.lastSeqno === 0 || this.awaitingRecoveryCreate || (!force && this.lastSeqno === this.writer.lastSignatureSeqno)) return;
    const startMs = this.options.nowMs();
    const workerMsBefore = this.nonces.handedOutMs;
    // A snapshot is taken at a signature, and the ledger chunk ends there (as CCF cuts it).
    // A recovering service holds no private state until it opens: no snapshot of it before.
    const snapshotDue = this.snapshotInProgress === undefined && this.recovery === undefined && (this.snapshotRequested || this.lastSeqno + 1 - this.lastSnapshotSeqno >= this.options.snapshots.txCount);
    if (snapshotDue) this.snapshotRequested = false;
    if (snapshotDue) this.writer.requestChunk();
    const result = this.writer.appendSignature(this.wallClockSeconds());
    this.store.applyWriteSet(result.writeSet, BigInt(result.txId.seqno));
    this.propose(result, true, undefined);
    this.keepSignature(signatureRecordOf(result.txId.seqno, result.writeSet.public)!);
    this.writesSinceSignature = 0;
    this.lastSignatureAtMs = this.options.nowMs();
    // The cost counts the nonces' share on the worker thread: it takes a core from the machine too.
    const costMs = this.lastSignatureAtMs - startMs + this.nonces.handedOutMs - workerMsBefore;
    this.signaturePacing.record(costMs, this.options.eventLoopBusyShare?.() ?? 0);
    if (snapshotDue) this.takeSnapshot(result.txId);
    this.processReady();
  }

  // ---- Snapshots ----

  /**
   * Snapshots the state at the signature `at` (the store holds exactly that state now). The state is
   * taken at once (the store's entries are never changed, so that is one array slot per key); the
   * encoding, ~1.5 µs a key, is written in slices between other work (a state of 100,000 keys held
   * the event loop ~170 ms in one go, long enough to stall commit and, at a million keys,
   * heartbeats). Then an evidence transaction records its digest (claims digest = the snapshot's
   * digest, as CCF does), and the file stays pending until the evidence commits.
   */
  private takeSnapshot(at: TxId): void {
    const job = { at, previousSnapshotSeqno: this.lastSnapshotSeqno, cancelled: false };
    this.lastSnapshotSeqno = at.seqno;
    this.encodeInSlices(job, this.snapshotInputAt(at), (encoded) => this.recordSnapshot(job, encoded));
  }

  /** What a snapshot at `at` holds, taken now: the store must hold exactly the state at `at`. */
  private snapshotInputAt(at: TxId): SnapshotInput {
    return {
      txId: at,
      maps: this.store.snapshotMaps(),
      viewHistory: this.writer.viewHistory.map((start) => ({ ...start })),
      hashAtSnapshot: this.writer.tree.leaf(at.seqno),
      key: this.options.ledgerSecrets.keyFor(at.seqno),
    };
  }

  /** Encodes a snapshot a slice per turn of the event loop; a job cancelled meanwhile (rollback, stop) ends at its next slice. */
  private encodeInSlices(job: SnapshotJob, input: SnapshotInput, done: (encoded: EncodedSnapshot) => void): void {
    const encoder = new SnapshotEncoder(input);
    this.snapshotInProgress = job;
    const later = (work: () => void): void => void setImmediate(() => !job.cancelled && !this.stopped && this.failure === undefined && work());
    const slice = (): void => {
      const startMs = this.options.nowMs();
      let finished = false;
      while (!finished && this.options.nowMs() - startMs < SNAPSHOT_SLICE_MS) finished = encoder.step(SNAPSHOT_STEP_KEYS, SNAPSHOT_STEP_BYTES);
      if (!finished) return later(slice);
      this.snapshotInProgress = undefined;
      done(encoder.finish());
      this.followNextSnapshot();
    };
    later(slice);
  }

  /**
   * On a backup, the primary's snapshot evidence: the same snapshot is encoded from this node's
   * state at that seqno (kept when the chunk closed there) and written only if its digest is the
   * one the evidence records, so that it is byte for byte the primary's. A restart then replays
   * only the ledger after it, as the primary's does. Evidence that arrives while another snapshot is
   * encoded (a backup catching up receives several at once) waits its turn.
   */
  private followSnapshot(evidence: SnapshotEvidence, evidenceTxId: TxId): void {
    // A node that joined a recovered service replays the service before the recovery too: its
    // snapshots are of no use to this service's joiners, and no receipt over their evidence can
    // be made before the recovery's own transactions are replayed (QA: the joiner stopped there).
    if (this.replayingPreviousService()) return;
    const previousSnapshotSeqno = this.lastSnapshotSeqno;
    // Should this node become primary, its snapshots keep the service's interval.
    this.lastSnapshotSeqno = Math.max(this.lastSnapshotSeqno, evidence.version);
    const state = this.statesAtChunkEnds.find((candidate) => candidate.txId.seqno === evidence.version);
    this.statesAtChunkEnds = this.statesAtChunkEnds.filter((candidate) => candidate.txId.seqno > evidence.version);
    if (state === undefined) {
      // A snapshot from before this node's start is not its to write.
      if (evidence.version > this.startupSeqno) {
        this.logLine(
          `the primary's snapshot at seqno ${evidence.version} (evidence ${formatTxId(evidenceTxId)}) is not written here: this node keeps its state at its last ${CHUNK_END_STATES_MAX} ledger chunk ends only, and more chunks closed before the evidence came; a restart of this node replays the ledger from its previous snapshot`,
        );
      }
      return;
    }
    const job = { at: state.txId, evidence: evidenceTxId, previousSnapshotSeqno, cancelled: false };
    this.snapshotsToFollow.push({ job, state, digest: evidence.hash });
    // Each waiting one holds a state in memory: past the bound, the oldest is left out.
    if (this.snapshotsToFollow.length > CHUNK_END_STATES_MAX) this.snapshotsToFollow.shift();
    this.followNextSnapshot();
  }

  /** Encodes the oldest snapshot waiting to be followed, unless a snapshot is being encoded. */
  private followNextSnapshot(): void {
    if (this.snapshotInProgress !== undefined) return;
    const next = this.snapshotsToFollow.shift();
    if (next === undefined) return;
    const { job, state, digest: expected } = next;
    this.encodeInSlices(job, state, ({ pieces, digest }) => {
      if (!equalBytes(digest, expected)) {
        this.logLine(`the snapshot at ${formatTxId(job.at)} encoded here differs from the primary's (evidence ${formatTxId(job.evidence)}); not kept`);
        return;
      }
      this.snapshots.writePending(job.at.seqno, job.evidence.seqno, pieces);
      this.pendingSnapshots.push({ seqno: job.at.seqno, evidence: job.evidence, snapshot: pieces });
      this.commitSnapshots();
    });
  }

  /** Records a written snapshot's evidence; a node that can no longer write it forgets the snapshot. */
  private recordSnapshot(job: { at: TxId; previousSnapshotSeqno: number }, { pieces, digest }: EncodedSnapshot): void {
    let evidence: TxId;
    try {
      evidence = this.execute((tx) => {
        tx.map(SNAPSHOT_EVIDENCE_MAP).set(SINGLETON_KEY, encodeSnapshotEvidence({ hash: digest, version: job.at.seqno }));
        return { result: undefined, applyWrites: true, claimsDigest: digest };
      }).txId!;
    } catch (error) {
      if (!(error instanceof CocoError) || !SNAPSHOT_EVIDENCE_REFUSALS.has(error.code)) throw error;
      this.lastSnapshotSeqno = job.previousSnapshotSeqno;
      return;
    }
    this.snapshots.writePending(job.at.seqno, evidence.seqno, pieces);
    this.pendingSnapshots.push({ seqno: job.at.seqno, evidence, snapshot: pieces });
  }

  /** Whether the state applied so far is a previous service's: its recorded identity has another key than this service's. */
  private replayingPreviousService(): boolean {
    const recorded = readNow(this.store, readServiceInfo)?.cert;
    if (recorded === undefined) return false;
    return !equalBytes(parseCertificate(recorded).publicKeyDer, publicKeyDer(this.options.service.keyPair.publicKeyPem));
  }

  /** Completes the snapshots whose evidence is now committed: the evidence's receipt is appended. */
  private commitSnapshots(): void {
    const ready = this.pendingSnapshots.filter((pending) => pending.evidence.seqno <= this.commitSeqno);
    if (ready.length === 0) return;
    this.pendingSnapshots = this.pendingSnapshots.filter((pending) => pending.evidence.seqno > this.commitSeqno);
    for (const { seqno, evidence, snapshot } of ready) {
      if (this.status(evidence) !== 'Committed') {
        this.snapshots.discard(seqno, evidence.seqno);
        continue;
      }
      let receipt: TxReceipt;
      try {
        receipt = this.receipt(evidence) as TxReceipt;
      } catch (error) {
        // A snapshot no receipt can vouch for is useless to joiners; it must not stop the node.
        if (!(error instanceof CocoError) || error.code !== 'ServiceEndorsementUnavailable') throw error;
        this.logLine(`the snapshot at seqno ${seqno} is not kept: ${error.message}`);
        this.snapshots.discard(seqno, evidence.seqno);
        continue;
      }
      this.snapshots.commit(seqno, evidence.seqno, snapshot, receipt);
    }
  }

  /** Drops the pending snapshots a rollback took the evidence of. */
  private discardSnapshotsAfter(seqno: number): void {
    this.statesAtChunkEnds = this.statesAtChunkEnds.filter((state) => state.txId.seqno <= seqno);
    const job = this.snapshotInProgress;
    this.snapshotsToFollow = this.snapshotsToFollow.filter((waiting) => waiting.job.evidence.seqno <= seqno);
    if (job !== undefined && Math.max(job.at.seqno, job.evidence?.seqno ?? 0) > seqno) {
      job.cancelled = true;
      this.snapshotInProgress = undefined;
      this.followNextSnapshot();
    }
    for (const pending of this.pendingSnapshots.filter((p) => p.evidence.seqno > seqno)) this.snapshots.discard(pending.seqno, pending.evidence.seqno);
    this.pendingSnapshots = this.pendingSnapshots.filter((p) => p.evidence.seqno <= seqno);
    this.lastSnapshotSeqno = Math.min(this.lastSnapshotSeqno, this.pendingSnapshots.at(-1)?.seqno ?? seqno);
  }

  // ---- Consensus ----

  /**
   * Feeds consensus the ticks that passed since the last ones, by the clock rather than by timer
   * callbacks: after a request that held the event loop (a long JS handler), one callback stands for
   * many ticks, and a primary that counted it as one would send its heartbeats late enough for the
   * backups to elect another. The RPC server also calls it after each request, since several long
   * requests can run back to back before the event loop reaches its timers.
   */
  keepTime(): void {
    if (this.stopped || this.retired || this.failure !== undefined) return;
    const { tickMs, heartbeatTicks } = this.options.consensus;
    const elapsed = Math.floor((this.options.nowMs() - this.lastTickAtMs) / tickMs);
    if (elapsed < 1) return;
    this.lastTickAtMs += elapsed * tickMs;
    // At most one heartbeat interval at once: enough for a primary to send its heartbeats now, while
    // a node starved of CPU (its peers' messages still unread) does not jump to an election or to a
    // failed check-quorum.
    this.raft.tick(Math.min(elapsed, heartbeatTicks));
    this.processReady();
    // Backups still needing a snapshot: look again whether the ledger holds what they lack, and say so again.
    const before = this.ledgerBeforeStart;
    if (this.backupsNeedingSnapshot.size > 0 && typeof before === 'object' && this.options.nowMs() - before.readAtMs >= SNAPSHOT_ADVICE_REPEAT_MS) this.readLedgerBeforeStart();
  }

  /** A consensus message from another node (already authenticated by the channel). */
  receive(message: unknown): void {
    if (this.stopped || this.failure !== undefined) return;
    this.raft.step(message);
    this.processReady();
  }

  /** Acts on what consensus asks, in the order `Ready` prescribes. */
  private processReady(): void {
    // Acting on one batch (a new primary's signature) can produce another: the loop takes it.
    if (this.processingReady) return;
    this.processingReady = true;
    try {
      while (this.raft.hasReady() && this.failure === undefined) this.act(this.raft.ready());
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.processingReady = false;
    }
  }

  private act(ready: Ready): void {
    // Nothing of this batch is acted on: the node stops before it serves anything more.
    if (ready.historySplit !== undefined) return this.fail(historySplitError(ready.historySplit));
    if (ready.hardState !== undefined) writeConsensusState(this.options.consensusStateFile, ready.hardState);
    if (ready.rollbackTo !== undefined && ready.rollbackTo < this.lastSeqno) this.rollback(ready.rollbackTo);
    let signed = false;
    for (const entry of ready.entriesToPersist) {
      // The primary's own entries are in the ledger already; a backup's come from the primary.
      if (entry.seqno > this.lastSeqno) this.applyReplicated(entry);
      if (entry.isSignature) signed = true;
    }
    // Only a signature makes entries committable, and the fsync that makes it durable covers every
    // entry before it: the entries after the last signature wait for the next one (a fsync per
    // signature, not one per turn of the event loop: a third of them at half load).
    if (signed) this.requestSync();
    for (const message of ready.messages) this.options.transport.send(message);
    if (ready.configurations !== undefined) {
      this.updatePeers();
      this.retirementsToRecord = true;
    }
    if (ready.steppedDown !== undefined) this.logLine(stepDownLine(ready.steppedDown));
    if (ready.role !== undefined) {
      const newLeader = ready.role.leaderId !== this.roleNow.leaderId;
      if (newLeader || ready.role.role !== this.roleNow.role || ready.role.view !== this.roleNow.view) {
        this.logLine(roleLine(ready.role), 'info');
        this.backupsNeedingSnapshot.clear(); // a new primary tells the operator again
      }
      this.roleNow = ready.role;
      if (newLeader) this.updatePeers();
      if (ready.role.role !== 'Leader') {
        this.cancelSignature();
        this.writesSinceSignature = 0;
      }
    }
    if (ready.committedUpTo !== undefined) this.advanceCommit(ready.committedUpTo);
    for (const load of ready.entriesToLoad ?? []) this.loadEntries(load);
    for (const lost of ready.followersLostEntries ?? []) {
      this.logLine(`node ${lost.peer.slice(0, 12)} had acknowledged entries up to ${lost.acknowledgedSeqno} but now holds only up to ${lost.holdsSeqno} (was its ledger restored from an older copy?); sending it the rest again`);
    }
    for (const report of ready.followersPastLogEnd ?? []) this.logLine(pastLogEndLine(report), 'error');
    if (ready.needsSnapshot !== undefined) this.backupsLackLedgerBeforeStart(ready.needsSnapshot);
    if (ready.becameLeader !== undefined) {
      this.statesAtChunkEnds = []; // the evidence a primary writes is its own
      this.writer.startView(ready.becameLeader.view);
      this.emitSignature(true);
      this.retirementsToRecord = true;
    }
    // A retiring primary signs what it accepted at once: once that commits it hands over.
    if (ready.retiring !== undefined) this.emitSignature();
    if (ready.retired !== undefined) this.retireAfterHandover();
    // Not before a recovery's first transaction: the previous service's retired nodes are recorded after it.
    if (this.retirementsToRecord && this.raft.acceptsWrites && !this.awaitingRecoveryCreate) this.recordCommittedRetirements();
    if (this.openingAtResume && this.raft.acceptsWrites) this.finishOpeningAtResume();
  }

  /**
   * CCF's `retired_committed`: once no active configuration holds a Retired node (the configuration
   * that removed it committed), the primary records it, and the node becomes removable.
   */
  private recordCommittedRetirements(): void {
    this.retirementsToRecord = false;
    const active = new Set(this.raft.configurations.flat());
    const retired = [...readNodeRecords(this.store)].filter(([id, info]) => info.status === 'Retired' && info.retired_committed !== true && !active.has(id));
    if (retired.length === 0) return;
    this.execute((write) => {
      for (const [id, info] of retired) write.map(Tables.nodesInfo).set(utf8(id), encodeJson({ ...info, retired_committed: true }));
      return { result: undefined, applyWrites: true };
    });
  }

  /**
   * Keeps a signature for receipts. Every signature names its signer's certificate: one string per
   * certificate is kept, not one per signature (a kilobyte each, dozens of signatures a second).
   */
  private keepSignature(signature: SignatureRecord): void {
    const certPem = this.signerCerts.get(signature.certPem);
    if (certPem === undefined) this.signerCerts.set(signature.certPem, signature.certPem);
    this.signatures.push(certPem === undefined ? signature : { ...signature, certPem });
  }

  /**
   * Backups lack entries from before the snapshot this primary started from. Its committed chunks
   * may hold them: read once, in the background, and consensus then sends them as it sends the
   * entries it compacted. Otherwise the operator is told to give each backup a snapshot: once per
   * backup and primary, and again every SNAPSHOT_ADVICE_REPEAT_MS while it lasts (see keepTime).
   */
  private backupsLackLedgerBeforeStart(peers: readonly string[]): void {
    for (const peer of peers) if (!this.backupsNeedingSnapshot.has(peer)) this.backupsNeedingSnapshot.set(peer, undefined);
    if (this.ledgerBeforeStart === 'unread') this.readLedgerBeforeStart();
    else this.adviseSnapshots();
  }

  private readLedgerBeforeStart(): void {
    this.ledgerBeforeStart = 'reading';
    const source = {
      directories: this.committedChunkDirectories,
      startupSeqno: this.startupSeqno,
      viewOf: (seqno: number) => this.raft.viewOf(seqno),
      configuration: this.startupConfiguration,
      serviceCertPem: this.options.service.certPem,
    };
    void readLedgerBeforeStart(source).then((read: LedgerBeforeStart) => {
      if (this.stopped || this.failure !== undefined) return;
      let lacking = read.lacking;
      if (read.held !== undefined) {
        try {
          this.raft.holdLedgerBeforeBase(read.held);
        } catch (error) {
          lacking = (error as Error).message;
        }
      }
      if (lacking !== undefined) {
        this.ledgerBeforeStart = { lacking, readAtMs: this.options.nowMs() };
        return this.adviseSnapshots();
      }
      this.ledgerBeforeStart = 'held';
      const backups = [...this.backupsNeedingSnapshot.keys()].map((id) => `node ${id.slice(0, 12)}`);
      if (backups.length > 0) this.logLine(`${backups.join(', ')} lacking entries from before seqno ${this.firstSeqno}, where this node's log starts (it started from a snapshot): sending them from its committed ledger chunks`, 'info');
      this.backupsNeedingSnapshot.clear();
    });
  }

  /** Tells the operator which backups need a snapshot, as this primary's ledger lacks what they do: each not told in the last SNAPSHOT_ADVICE_REPEAT_MS. */
  private adviseSnapshots(): void {
    const state = this.ledgerBeforeStart;
    if (typeof state !== 'object') return;
    const nowMs = this.options.nowMs();
    const stillLacking = new Set(this.raft.followersNeedingSnapshot);
    for (const [peer, toldAtMs] of this.backupsNeedingSnapshot) {
      if (!stillLacking.has(peer)) {
        this.backupsNeedingSnapshot.delete(peer);
        continue;
      }
      if (toldAtMs !== undefined && nowMs - toldAtMs < SNAPSHOT_ADVICE_REPEAT_MS) continue;
      this.backupsNeedingSnapshot.set(peer, nowMs);
      this.logLine(
        `node ${peer.slice(0, 12)} lacks entries from before seqno ${this.firstSeqno}, where this node's log starts (it started from a snapshot), and this node's ledger does not hold them (${state.lacking}): ` +
          `stop that node, copy the latest committed snapshot in ${this.snapshots.directory} into its snapshots.directory, and restart it`,
      );
    }
  }

  /** Reads entries consensus compacted away back from the ledger files, for a backup it catches up. */
  private loadEntries({ peer, fromSeqno, toSeqno }: EntriesToLoad): void {
    // Those its own chunk files lack (from before its snapshot, or in a committed chunk a restart
    // replayed from a read-only directory) are read from the committed chunks of its directories.
    const read = async (): Promise<Uint8Array[]> => {
      try {
        return await this.files.readEntries(fromSeqno, toSeqno);
      } catch (error) {
        const entries = notInOwnChunks(error) ? await readCommittedEntriesFrom(this.committedChunkDirectories, fromSeqno, toSeqno - fromSeqno + 1) : undefined;
        if (entries === undefined) throw error;
        return entries.map((entry) => entry.bytes);
      }
    };
    read().then(
      (entries) => {
        this.loadFailures.delete(peer);
        if (this.stopped || this.failure !== undefined) return;
        this.raft.loaded(peer, fromSeqno, entries);
        this.processReady();
      },
      (error: Error) => {
        // Reading back writes the entries still pending first: a disk that refuses that stops the node.
        if (error instanceof LedgerDiskError) return this.fail(error);
        // Consensus asks again at its next heartbeat: one line per peer and failure, not one per heartbeat.
        if (this.loadFailures.get(peer) === error.message) return;
        this.loadFailures.set(peer, error.message);
        this.logLine(`entries ${fromSeqno}..${toSeqno} for node ${peer.slice(0, 12)} could not be read from the ledger (${error.message}); retrying at each heartbeat`);
      },
    );
  }

  /** A backup applies an entry the primary wrote; anything that does not fit stops the node. */
  private applyReplicated(entry: LogEntry): void {
    const result = this.writer.appendReplicated(entry.data, { view: entry.view, seqno: entry.seqno });
    this.store.applyWriteSet(result.writeSet, BigInt(entry.seqno));
    this.receiveLedgerSecret(entry.seqno, result.writeSet);
    this.record(result);
    const signature = signatureRecordOf(entry.seqno, result.writeSet.public);
    if (signature !== undefined) this.keepSignature(signature);
    if (signature !== undefined && result.closesChunk) {
      this.statesAtChunkEnds.push(this.snapshotInputAt(result.txId));
      if (this.statesAtChunkEnds.length > CHUNK_END_STATES_MAX) this.statesAtChunkEnds.shift();
    }
    const evidence = singletonWrite(result.writeSet.public, SNAPSHOT_EVIDENCE_MAP);
    if (evidence !== undefined) this.followSnapshot(decodeSnapshotEvidence(evidence), result.txId);
    if (changesNodes(result.writeSet)) {
      const trusted = readTrustedNodeIds(this.store);
      if (entry.configuration !== undefined && !sameNodes(entry.configuration, trusted)) {
        throw new CocoError('LedgerDivergence', `entry ${formatTxId(entry)} sets configuration [${entry.configuration.join(', ')}] but its nodes table trusts [${trusted.join(', ')}]`);
      }
      this.updatePeers();
    }
  }

  /** Drops every entry after `seqno` (never committed): store, Merkle tree, ledger files, receipts. */
  private rollback(seqno: number): void {
    invariant(seqno >= this.commitSeqno, `rollback to ${seqno} below commit ${this.commitSeqno}`);
    // An operator reads why writes this node answered never committed.
    const dropped = this.lastSeqno - seqno;
    this.logLine(`rolled back ${dropped} uncommitted ${dropped === 1 ? 'entry' : 'entries'} (seqno ${seqno + 1} to ${this.lastSeqno}) that the primary's log does not hold: their transactions are Invalid`);
    this.store.rollback(BigInt(seqno));
    const openChunkBytes = this.files.truncate(seqno);
    this.leafDigests.truncateAfter(seqno);
    this.discardSnapshotsAfter(seqno);
    while ((this.signatures.at(-1)?.seqno ?? 0) > seqno) this.signatures.pop();
    // Consensus truncated its log before asking for this rollback: its last signature is the kept one.
    this.writer.truncate(seqno, { lastSignatureSeqno: this.raft.signatureAtOrBefore(seqno), openChunkBytes });
    if (this.options.ledgerSecrets.rollback(seqno)) this.persistLedgerSecrets();
    this.lastSeqno = seqno;
    this.rollbacks += 1;
    this.updatePeers();
  }

  /**
   * Tells the transport which nodes to talk to: every node of the active configurations, and the
   * primary (a joiner hears from it before its log holds the configuration that adds it).
   */
  private updatePeers(): void {
    // A retired node talks to no one (retire and retireAfterHandover closed its connections).
    if (this.retired) return;
    const records = readNodeRecords(this.store);
    const ids = new Set(this.raft.configurations.flat());
    if (this.roleNow.leaderId !== undefined) ids.add(this.roleNow.leaderId);
    // Until its log holds the configuration that adds it, a joiner also answers the nodes it
    // learnt of when it joined (a primary that lost its lease asks for its vote).
    if (!this.raft.configurations.some((configuration) => configuration.includes(this.nodeId))) {
      for (const id of this.options.knownPeerAddresses?.keys() ?? []) ids.add(id);
    }
    ids.delete(this.nodeId);
    const peers = new Map<string, string>();
    for (const id of ids) {
      const record = records.get(id);
      const address = (record && nodeToNodeAddress(record)) ?? this.options.knownPeerAddresses?.get(id);
      if (address !== undefined) peers.set(id, address);
    }
    this.options.transport.setPeers(peers);
  }

  /** Group commit: one fsync at a time covers every entry appended before it started. */
  private requestSync(): void {
    if (this.syncing) {
      this.syncRequested = true;
      return;
    }
    this.syncing = true;
    const target = this.lastSeqno;
    const rollbacks = this.rollbacks;
    const durable = this.files.sync();
    // The sync wrote the entries waiting in memory: the marker may name the commit among them.
    this.markCommit();
    durable.then(
      () => this.synced(target, rollbacks),
      (error: unknown) => {
        // A file a rollback removed may fail to sync: sync again what is there now.
        if (rollbacks !== this.rollbacks) return this.synced(target, rollbacks);
        // A ledger that cannot be made durable must not report commits: stop (the error names the write or fsync that failed).
        this.syncing = false;
        this.fail(error as Error);
      },
    );
  }

  private synced(target: number, rollbacks: number): void {
    this.syncing = false;
    if (this.stopped) return;
    if (rollbacks === this.rollbacks) {
      this.raft.persisted(Math.min(target, this.raft.lastSeqno));
      this.processReady();
    } else {
      this.syncRequested = true;
    }
    if (this.syncRequested) {
      this.syncRequested = false;
      this.requestSync();
    }
  }

  /** Stops applying transactions for good: one line in the log, then the host is told (it ends the process). */
  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    this.cancelSignature();
    this.logLine(`stopped applying transactions: ${error.message}`, 'error');
    this.options.onFailure?.(error);
  }

  private advanceCommit(seqno: number): void {
    if (seqno <= this.commitSeqno) return;
    this.commitSeqno = seqno;
    this.markCommit();
    this.files.markCommitted(seqno);
    this.store.compact(BigInt(seqno));
    this.commitSnapshots();
    this.forgetOldReceipts();
    for (let i = this.commitWaiters.length - 1; i >= 0; i--) {
      const waiter = this.commitWaiters[i]!;
      if (waiter.seqno <= seqno) {
        this.commitWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /**
   * Writes the commit marker: the commit, but never past the entries written to the ledger files,
   * and always a signature. A backup learns of commits while its newest entries wait in memory for
   * the fsync under way, and a restart takes the marker only when the entries it replays hold the
   * one it names (commit-marker-file.ts): it drops the unsigned tail, so that is the last signature
   * written.
   */
  private markCommit(): void {
    const seqno = this.raft.signatureAtOrBefore(Math.min(this.commitSeqno, this.files.writtenSeqno));
    if (seqno <= this.markedCommitSeqno) return;
    this.markedCommitSeqno = seqno;
    this.commitMarker.write({ view: this.viewOf(seqno), seqno });
  }

  /** Resolves once the commit seqno reaches `seqno`. */
  waitForCommit(seqno: number): Promise<void> {
    if (seqno <= this.commitSeqno) return Promise.resolve();
    return new Promise((resolve) => this.commitWaiters.push({ seqno, resolve }));
  }

  // ---- Reading state ----

  /** The view of a seqno this node holds (the current view past its log). */
  viewOf(seqno: number): number {
    return (seqno >= 1 ? this.raft.viewOf(seqno) : undefined) ?? this.raft.currentView;
  }

  get lastTxId(): TxId {
    return { view: this.viewOf(this.lastSeqno), seqno: this.lastSeqno };
  }

  get commitTxId(): TxId {
    return { view: this.viewOf(this.commitSeqno), seqno: this.commitSeqno };
  }

  /**
   * CCF's `retirement_phase`, undefined while this node is not retired: `Ordered` once its log
   * holds a configuration without it after one with it, `Signed` once a signature follows that,
   * `Completed` once that committed, `RetiredCommitted` once it takes no further part (stopNotice).
   */
  get retirementPhase(): RetirementPhase | undefined {
    if (this.retired) return 'RetiredCommitted';
    if (this.raft.isRetired) return 'Completed';
    const configurations = this.raft.configurations;
    const removedAt = configurations.findIndex((configuration, i) => i > 0 && configurations[i - 1]!.includes(this.nodeId) && !configuration.includes(this.nodeId));
    if (removedAt < 0 || configurations.at(-1)!.includes(this.nodeId)) return undefined;
    return this.lastSignatureSeqno >= this.raft.configurationSeqnos[removedAt]! ? 'Signed' : 'Ordered';
  }

  /** The active configurations, oldest first (two while a reconfiguration is being committed). */
  get configurations(): (readonly string[])[] {
    return this.raft.configurations;
  }

  /** The seqno of the entry that set each active configuration, oldest first (0: the bootstrap one). */
  get configurationSeqnos(): number[] {
    return this.raft.configurationSeqnos;
  }

  /** Each other node of the active configurations: on the primary, its last acknowledged seqno and how long ago it answered (ms, to the tick); 0 and 0 elsewhere. */
  get acks(): { node: string; seqno: number; lastReceivedMs: number }[] {
    return this.raft.acks.map(({ node, seqno, ticksAgo }) => ({ node, seqno, lastReceivedMs: ticksAgo * this.options.consensus.tickMs }));
  }

  /** Governance's `trigger_ledger_chunk`: the next signature closes the chunk. */
  requestLedgerChunk(): void {
    this.writer.requestChunk();
  }

  /** Governance's `trigger_snapshot`: a snapshot at the next signature (once one in progress is done). */
  requestSnapshot(): void {
    this.snapshotRequested = true;
  }

  /**
   * Governance's `trigger_ledger_rekey`: `tx` (a transaction this primary runs) sends a new ledger
   * secret to every Trusted node; it applies from the seqno after `tx`'s.
   */
  rekeyLedger(tx: Transaction): void {
    this.checkCanWrite();
    const secret = randomBytes(AES_256_KEY_BYTES);
    writeLedgerSecretForNodes(tx, secret, nodeRecords(tx));
    // As CCF: the members' shares now open the new secret, which opens the chain of older ones. A
    // service whose shares had holders never rekeys without any: the new secret would be lost to recovery.
    const hadShares = hasRecoveryShares(tx);
    if (!issueRecoveryShares(tx, secret, { rekeying: true }) && hadShares) {
      throw new CocoError('NoRecoveryMembers', 'the ledger cannot be rekeyed: there is no active recovery member (an Active member with an encryption key) to hold the new secret; add one, or have one acknowledge its state digest, first');
    }
    recordPreviousLedgerSecret(tx, secret, this.options.ledgerSecrets.all().at(-1));
  }

  /**
   * At a new service's opening, as CCF: recovery shares of the latest secret, where the secrets'
   * chain starts, and the service's endorsement of its own identity.
   */
  private atServiceOpening(tx: Transaction): void {
    const all = this.options.ledgerSecrets.all();
    const latest = all.at(-1)!;
    issueRecoveryShares(tx, latest.key);
    recordPreviousLedgerSecret(tx, latest.key, all.at(-2), latest.fromSeqno);
    endorsePreviousIdentity(tx, this.options.service.keyPair, this.wallClockSeconds());
  }

  /** The time of day, in seconds since the epoch, that the ledger records (signatures, endorsements). */
  private wallClockSeconds(): number {
    return Math.floor((this.options.wallClockMs ?? this.options.nowMs)() / 1000);
  }

  /** New recovery shares of the same secret (a threshold or recovery membership change). */
  refreshRecoveryShares(tx: Transaction): void {
    if (!issueRecoveryShares(tx, this.options.ledgerSecrets.all().at(-1)!.key)) {
      throw new CocoError('NoRecoveryMembers', 'there is no active recovery member (an Active member with an encryption key) to issue recovery shares to');
    }
  }

  /** What a constitution's `apply` may ask of this node (CCF's governance effects). */
  governanceHost(): GovernanceHost {
    return {
      serviceKeyPair: this.options.service.keyPair,
      serviceCertPem: this.options.service.certPem,
      triggerLedgerChunk: () => this.requestLedgerChunk(),
      triggerSnapshot: () => this.requestSnapshot(),
      triggerLedgerRekey: (tx) => this.rekeyLedger(tx),
      atServiceOpening: (tx) => this.atServiceOpening(tx),
      triggerRecoverySharesRefresh: (tx) => this.refreshRecoveryShares(tx),
      latestLedgerSecretSeqno: () => this.options.ledgerSecrets.latestFromSeqno,
    };
  }

  /** Takes the new ledger secret a rekey transaction at `seqno` sends this node, if it is one. */
  private receiveLedgerSecret(seqno: number, writeSet: WriteSet): void {
    const held = this.options.ledgerSecrets.all().length;
    receiveLedgerSecret(this.secretReceiver, seqno, writeSet.public, () => recordsServiceIdentity(this.store, this.options.service.certPem));
    if (this.options.ledgerSecrets.all().length !== held) this.persistLedgerSecrets();
  }

  /** A secret the node cannot seal would be lost at a restart: a disk that refuses it stops the node, as for the ledger. */
  private persistLedgerSecrets(): void {
    this.onLedgerFiles(() => this.options.persistLedgerSecrets?.([...this.options.ledgerSecrets.all()]));
  }

  /** The Merkle root over every transaction so far: what a transaction reading now reads. */
  merkleRoot(): Uint8Array {
    return this.writer.tree.root();
  }

  /** Entries the consensus log holds in memory: the uncommitted ones and the committed ones it retains behind them. */
  get consensusLogEntries(): number {
    return this.raft.lastSeqno - this.raft.baseSeqno;
  }

  get lastSignatureSeqno(): number {
    return this.writer.lastSignatureSeqno;
  }

  /** The view of the entries from each seqno on, as this node's ledger holds them (with its snapshot's). */
  get viewHistory(): ViewStart[] {
    return this.writer.viewHistory;
  }

  status(txId: TxId): TxStatus {
    if (this.committedAsServiceSays <= this.commitSeqno) return this.raft.statusOf(txId);
    // Raft's log matching: the entries of this log up to a signature the service committed are the
    // service's, so they are committed too (and that signature covers them for receipts).
    return statusOf(txId, { viewOf: (seqno) => this.raft.viewOf(seqno), commitSeqno: this.committedAsServiceSays });
  }

  /** Whether `txId` is a signature entry of this node's log. */
  private holdsSignature(txId: TxId): boolean {
    return this.raft.viewOf(txId.seqno) === txId.view && this.raft.signatureAtOrBefore(txId.seqno) === txId.seqno;
  }

  /**
   * Frees the receipt material of committed transactions but the last `receiptsInMemory` (up to the
   * signature before them): the Merkle tree's leaves, the digests and the signatures. Their receipts
   * are read back from the ledger files when asked for.
   */
  private forgetOldReceipts(): void {
    const target = this.commitSeqno - (this.options.receiptsInMemory ?? RECEIPTS_IN_MEMORY_DEFAULT);
    const to = this.raft.signatureAtOrBefore(target);
    if (to <= this.writer.tree.flushed) return;
    this.writer.tree.flush(to);
    this.leafDigests.forgetBefore(to);
    this.signatures.splice(0, countAtMost(this.signatures, seqnoOf, to - 1));
  }

  /** The Merkle leaf of `seqno` as signed: from the tree, or from a receipt read back from the ledger. */
  private signedLeaf(seqno: number): Uint8Array {
    if (seqno >= this.writer.tree.flushed) return this.writer.tree.leaf(seqno);
    const leaf = this.coverageFromLedger.leaf(seqno);
    if (leaf === undefined) throw new CocoError('TransactionNotCached', `the Merkle leaf of seqno ${seqno} is not in memory; ask again shortly`);
    return leaf;
  }

  /** The signature covering a committed transaction and, unless it is that signature, its proof material. */
  private coverage(txId: TxId): Coverage {
    const status = this.status(txId);
    if (status === 'Invalid') throw new CocoError('TransactionInvalid', `transaction ${formatTxId(txId)} is invalid: it was not committed and never will be`);
    if (status !== 'Committed') throw new CocoError('TransactionPendingOrUnknown', `transaction ${formatTxId(txId)} is ${status}; a receipt exists once it is Committed`);
    // Before the snapshot this node started from, only its ledger files (if it has them) know the signature.
    if (txId.seqno < this.startupSeqno) return this.coverageFromLedger.get(txId, undefined);
    const signatureSeqno = this.raft.signatureAtOrAfter(txId.seqno);
    invariant(signatureSeqno !== undefined, 'a committed transaction is covered by a signature');
    if (txId.seqno < this.writer.tree.flushed) return this.coverageFromLedger.get(txId, signatureSeqno);
    const signature = this.signatures[countAtMost(this.signatures, seqnoOf, signatureSeqno - 1)];
    invariant(signature?.seqno === signatureSeqno, 'the signatures after the flushed leaves are in memory');
    if (signatureSeqno === txId.seqno) return { signature, leaf: undefined };
    const leaf = this.leafDigests.get(txId.seqno);
    invariant(leaf !== undefined, 'a committed transaction after the flushed leaves has its leaf digests');
    return {
      signature,
      leaf: {
        proof: this.writer.tree.proofAt(txId.seqno, signature.seqno),
        writeSetDigest: leaf.writeSetDigest,
        commitEvidence: this.writer.commitEvidenceFor(txId),
        claimsDigest: leaf.claimsDigest,
      },
    };
  }

  /**
   * The receipt of a committed transaction: its Merkle proof up to the first signature after it,
   * that signature, and the leaf components; for a signature transaction, the root it signed.
   * Throws CocoError('TransactionNotCached') while an old one is read back from the ledger.
   */
  receipt(txId: TxId): Receipt {
    const coverage = this.coverage(txId);
    return receiptOf(coverage, this.serviceEndorsements.for(coverage.signature.certPem));
  }

  /**
   * The certificate of the service before the last disaster recovery: the one a recovery under way
   * was started with (until its first transaction records it), else as the service records it.
   */
  private previousServiceIdentity(): string | undefined {
    if (this.recovery !== undefined) return this.recovery.previousServiceCertPem;
    const value = readNow(this.store, (tx) => tx.map(Tables.previousServiceIdentity).get(SINGLETON));
    return value && decodeJson<string>(value, Tables.previousServiceIdentity);
  }

  /** Signatures from now on carry `certPem`, this node's certificate renewed by members. */
  signWithCertificate(certPem: string): void {
    this.writer.setNodeCertificate(certPem);
  }

  /** The COSE receipt (CCF 6) of a committed application transaction. */
  coseReceipt(txId: TxId): Uint8Array {
    const { signature, leaf } = this.coverage(txId);
    if (leaf === undefined || signature.cose === undefined) {
      throw new CocoError('ResourceNotFound', `transaction ${formatTxId(txId)} has no COSE receipt: signature transactions have JSON receipts only`);
    }
    return buildCoseReceipt({ signatureCose: signature.cose, ...leaf });
  }

  async stop(): Promise<void> {
    if (!this.stopped) this.emitSignature();
    this.stopped = true;
    clearInterval(this.tickTimer);
    this.cancelSignature();
    while (this.syncing) await new Promise((resolve) => setTimeout(resolve, 1));
    await this.snapshots.flushed();
    // A node that failed leaves its files as the failure left them (closing writes what is pending,
    // which may fail again): a restart replays what is on disk.
    if (this.failure === undefined) this.files.close();
    this.commitMarker.close();
    await this.nonces.close();
  }
}
