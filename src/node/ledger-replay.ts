// Rebuilds a node's state from its own ledger directory for a restart, in one pass over its chunk
// files (with the committed chunks it lacks taken from the read-only directories), one file at a time: each entry is verified against the service identity (a tampered ledger
// is refused), and once a signature transaction covers it, decrypted and applied to a fresh store
// (or to the state of a committed snapshot, replaying only the ledger after it) while the Merkle
// tree, the receipts' leaf components and the consensus log (with the configuration each entry
// sets) are rebuilt. Transactions after the last signature cannot commit and are dropped, as CCF
// drops an unsigned suffix; what is signed but past the last `.committed` chunk stays uncommitted
// (consensus decides). So is a last entry of the open chunk that a crash left partly written, and
// an open last chunk that holds no whole entry at all (its header cut short, as a crash right after
// its creation leaves it): the node resumes from the chunks before it.

import { existsSync } from 'node:fs';
import { SINGLETON_KEY, singletonWrite } from '../ledger/signature.js';
import { HISTORICAL_LEDGER_SECRET_MAP } from '../governance/recovery-shares.js';
import type { HistoricalSecretWrite } from '../governance/recovered-secrets.js';
import { CHUNK_HEADER_BYTES, openChunkEntries, readChunkLayout, type ChunkLayout, type OpenChunkEntries } from '../ledger/chunk-file.js';
import type { LoadedSnapshot } from './snapshot-directory.js';
import { CocoError } from '../errors.js';
import type { LogEntry } from '../consensus/log-entry.js';
import { Store } from '../kv/store.js';
import type { MapChanges } from '../kv/write-set.js';
import { openEntry } from '../ledger/entry-sealing.js';
import { EntryFlags, type LedgerEntry } from '../ledger/entry.js';
import { GENESIS_PLACEHOLDER_LEAF, NO_CLAIMS_DIGEST } from '../ledger/leaf.js';
import { LeafDigests } from '../ledger/leaf-digests.js';
import type { ViewStart } from '../ledger/ledger-writer.js';
import { LedgerVerificationError, LedgerVerifier, UNTRUSTED_SERVICE_IDENTITY, type VerifiedChunk } from '../ledger/ledger-verifier.js';
import { MerkleTree } from '../ledger/merkle-tree.js';
import type { TxId } from '../ledger/tx-id.js';
import { listReplayChunkFiles, type ReplayChunkFile } from './ledger-directory.js';
import { receiveLedgerSecret, recordsServiceIdentity, type LedgerSecretReceiver } from './ledger-rekey.js';
import { sameCertificateKey } from '../crypto/x509.js';
import { readNodeFile } from './node-file-read.js';
import { changesNodes, readNow, readTrustedNodeIds, sameNodes } from './service-nodes.js';
import { decodeJson, readServiceInfo, Tables } from '../governance/builtin-tables.js';
import { signatureRecordFrom, signatureRecordOf, type SignatureRecord } from './signature-record.js';

export interface ReplayedChunk {
  name: string;
  path: string;
  first: number;
  /** Last entry kept (entries after the last signature are cut off). */
  last: number;
  offsets: number[];
  /** Where the kept entries end. */
  entriesEnd: number;
  complete: boolean;
  /**
   * Whether the last kept entry closes the chunk (FORCE_LEDGER_CHUNK_AFTER, set by the primary): the
   * next entry starts a new file, whether or not the node wrote the positions table before it stopped.
   */
  closesChunk: boolean;
}

/** The open chunk's last entry, which the node was writing when it stopped and wrote only partly. */
export interface TornEntry {
  file: string;
  seqno: number;
  /** What the file holds of it, dropped (LedgerFiles.resume truncates the file before them). */
  bytes: number;
}

/** The open chunk file when it holds no whole entry: the node stopped right after creating it. */
export interface TornChunk {
  file: string;
  /** What the file holds: a header cut short, or a header and part of the first entry. */
  bytes: number;
}

export interface ReplayedLedger {
  /**
   * Only in a public-only replay (a disaster recovery): every write to CCF's
   * `historical_encrypted_ledger_secret`, in seqno order, from which recovery shares restore the
   * ledger secrets (CCF's recovery hook collects the same list).
   */
  ledgerSecretHistory?: HistoricalSecretWrite[];
  /** The snapshot the replay started from; the log and the leaf components start after it. */
  snapshot: LoadedSnapshot | undefined;
  /** The Trusted nodes at the snapshot (empty without one): the configuration the log starts in. */
  baseConfiguration: string[];
  store: Store;
  tree: MerkleTree;
  lastTxId: TxId;
  leafDigests: LeafDigests;
  signatures: SignatureRecord[];
  /** The consensus log: every kept entry, with the configuration it sets where it changes one. */
  entries: LogEntry[];
  /** The view in force from each seqno on. */
  views: ViewStart[];
  /** The last signature known committed: the end of the last `.committed` chunk, or 0. */
  committedSeqno: number;
  /** The ledger directory's chunks (those replayed from a read-only directory are not the node's files). */
  chunks: ReplayedChunk[];
  tornEntry: TornEntry | undefined;
  /** Left out of the replay; LedgerFiles.resume deletes it with the other chunks after the kept entries. */
  tornChunk: TornChunk | undefined;
  /**
   * Chunk files not named committed that end before the snapshot the replay started from (for an
   * open chunk, at it: its name claims the seqnos after). The replay never reads them, and nothing
   * tells their committed entries from ones a primary rolled back since (a commit marker may vouch
   * for some): LedgerFiles.setAside renames them `<name>.ignored`, as CCF does, so that no read,
   * restart or verification takes them again.
   */
  setAside: string[];
  /** The last seqno each chunk of `setAside` holds (an open chunk's name does not say). */
  setAsideLastSeqnos: Map<string, number>;
}

export interface ReplayOptions {
  /**
   * The last seqno whose entry is applied (and whose rekey is taken); the entries after it in its
   * chunk are verified only, and the chunks after are not read. A recovered service replays its
   * previous service's private domain so, up to the last signature it recovered, under the secrets
   * its members' shares restored, while it writes its own chunks after.
   */
  applyUpTo?: number;
}

/** The last chunk file while it is still being written (no positions table): its bytes and whole entries. */
interface OpenChunkFile {
  file: ReplayChunkFile;
  bytes: Uint8Array;
  entries: OpenChunkEntries;
}

function readOpenChunk(files: readonly ReplayChunkFile[]): OpenChunkFile | undefined {
  const file = files.at(-1);
  if (file === undefined || file.chunk.last !== undefined || file.chunk.committed) return undefined;
  const bytes = readNodeFile(file.path, 'ledger chunk');
  // Created and stopped before its header was whole (the file is created, then its header written).
  if (bytes.length < CHUNK_HEADER_BYTES) return { file, bytes, entries: { count: 0, end: 0 } };
  // A header pointing at a positions table (completed, not yet renamed) is the verifier's to judge.
  let layout: ChunkLayout;
  try {
    layout = readChunkLayout(bytes, file.name);
  } catch {
    return undefined;
  }
  return layout.complete ? undefined : { file, bytes, entries: openChunkEntries(bytes) };
}

/** An entry the verifier has read, with its write-set digest and the chunk file it is in. */
interface Verified {
  entry: LedgerEntry;
  digest: Uint8Array;
  file: string;
}

/**
 * The entry's private domain. Its GCM tag also covers the public domain, so an entry altered
 * before the verifier has reached the signature that shows it fails here: named like the verifier would.
 */
function openVerified(entry: LedgerEntry, file: string, receiver: LedgerSecretReceiver, serviceCertPem: string): MapChanges[] {
  try {
    return openEntry(entry, receiver.secrets.keyFor(entry.txId.seqno));
  } catch (error) {
    if (!(error instanceof CocoError) || error.code !== 'DecryptionFailed') throw error;
    // Another service's ledger fails here first, at its genesis, before the verifier compares identities.
    const recorded = singletonWrite(entry.publicMaps, Tables.serviceInfo);
    const cert = recorded === undefined ? undefined : decodeJson<{ cert?: string }>(recorded, Tables.serviceInfo).cert;
    if (cert !== undefined && !sameCertificateKey(cert, serviceCertPem)) {
      throw new LedgerVerificationError(file, entry.txId, `the entry does not decrypt with its ledger secret, and ${UNTRUSTED_SERVICE_IDENTITY}: ledger.directory holds another service's ledger (or a ledger altered to look like one); give the node its own ledger directory`);
    }
    throw new LedgerVerificationError(file, entry.txId, 'the entry does not decrypt with its ledger secret: it was altered, or sealed with a secret this node does not hold');
  }
}

/** An error about a chunk in a read-only directory names its path: it is not in the ledger directory. */
function namingReadOnlyFile(error: unknown, files: readonly ReplayChunkFile[]): unknown {
  if (!(error instanceof LedgerVerificationError)) return error;
  const file = files.find((f) => f.readOnly && f.name === error.file);
  return file === undefined ? error : error.with({ file: file.path });
}

/**
 * Replays the ledger in `directory`, and the committed chunks it lacks that `readOnlyDirectories`
 * hold (see listReplayChunkFiles); `receiver` holds the node's ledger secrets and takes those its
 * rekeys send. Without one (`'public only'`, a disaster recovery, which has no secret yet) only
 * the public domain of each entry is applied; the entries are verified all the same.
 */
export function replayLedger(
  directory: string,
  receiver: LedgerSecretReceiver | 'public only',
  serviceCertPem: string,
  snapshot?: LoadedSnapshot,
  readOnlyDirectories: readonly string[] = [],
  options: ReplayOptions = {},
): ReplayedLedger {
  const steps = replaySteps(directory, receiver, serviceCertPem, snapshot, readOnlyDirectories, options);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * replayLedger, a chunk file per turn of the event loop: a node that replays while it serves (a
 * recovery's private replay, CCF's ReadingPrivateLedger) keeps answering meanwhile.
 */
export async function replayLedgerInTurns(
  directory: string,
  receiver: LedgerSecretReceiver,
  serviceCertPem: string,
  snapshot: LoadedSnapshot | undefined,
  readOnlyDirectories: readonly string[],
  options: ReplayOptions,
): Promise<ReplayedLedger> {
  const steps = replaySteps(directory, receiver, serviceCertPem, snapshot, readOnlyDirectories, options);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The replay, yielding after each chunk file. */
function* replaySteps(
  directory: string,
  receiver: LedgerSecretReceiver | 'public only',
  serviceCertPem: string,
  snapshot: LoadedSnapshot | undefined,
  readOnlyDirectories: readonly string[],
  options: ReplayOptions,
): Generator<void, ReplayedLedger> {
  const snapshotSeqno = snapshot?.txId.seqno ?? 0;
  const listed = existsSync(directory) ? listReplayChunkFiles(directory, readOnlyDirectories, { allowEmpty: snapshot !== undefined, after: snapshotSeqno }) : [];
  const last = readOpenChunk(listed);
  // An open last chunk with no whole entry (a crash right after its creation) holds nothing to lose:
  // left out. Alone, with no snapshot, it is all the node has: read as it is, so a header cut short
  // is refused and the operator decides.
  const tornChunk = last?.entries.count === 0 && (listed.length > 1 || snapshot !== undefined) ? { file: last.file.name, bytes: last.bytes.length } : undefined;
  const all = tornChunk === undefined ? listed : listed.slice(0, -1);
  // The node appends after its own last chunk: read-only ones come before one (listReplayChunkFiles),
  // which only a torn chunk left out can undo.
  const lastFile = all.at(-1);
  if (lastFile?.readOnly === true) {
    throw new CocoError(
      'LedgerRefused',
      `${lastFile.path} holds the last whole entries of this node's ledger (${tornChunk!.file}, after it in ${directory}, holds none), but a node appends only after a chunk of its own ledger directory: move ${lastFile.name} back into ${directory}`,
    );
  }
  const open = tornChunk === undefined && last !== undefined && last.bytes.length >= CHUNK_HEADER_BYTES ? last : undefined;
  // The open chunk ends where its entries do; its name says nothing.
  const lastSeqnoOf = (file: ReplayChunkFile): number => (file === open?.file ? file.chunk.first + open.entries.count - 1 : (file.chunk.last ?? Infinity));
  // Chunks are cut at snapshots, so the ledger after one starts with a chunk of its own; a
  // snapshot that falls inside a chunk (taken elsewhere) is of no use when the whole ledger is here.
  if (snapshot !== undefined && all.some((file) => file.chunk.first <= snapshotSeqno && lastSeqnoOf(file) > snapshotSeqno)) {
    if (all[0]?.chunk.first !== 1) {
      throw new CocoError('SnapshotUnusable', `snapshot ${snapshot.name} ends inside a ledger chunk and the ledger before it is missing: remove the ledger directory to start from the snapshot alone`);
    }
    return yield* replaySteps(directory, receiver, serviceCertPem, undefined, readOnlyDirectories, {});
  }
  const base = snapshotSeqno;
  const setAside = snapshot === undefined ? [] : all.filter((file) => !file.chunk.committed && (file === open?.file ? lastSeqnoOf(file) <= base : lastSeqnoOf(file) < base));
  const files = all.filter((file) => lastSeqnoOf(file) > base && file.chunk.first <= (options.applyUpTo ?? Infinity));
  const tree = snapshot?.tree ?? new MerkleTree();
  if (snapshot === undefined) tree.append(GENESIS_PLACEHOLDER_LEAF);
  // The verifier rebuilds the tree itself. Only the last signature's ECDSA signatures are checked:
  // it signs every entry before it, and checking each of thousands made most of a restart's time.
  const store = snapshot === undefined ? new Store() : Store.fromSnapshot(BigInt(base), snapshot.maps);
  // A snapshot of the service a recovery replaced (a recovered node restarting before its own) is
  // under the previous identity: the ledger after it changes to the trusted one.
  const snapshotIdentity = snapshot && readNow(store, readServiceInfo)?.cert;
  const from = snapshot && { txId: snapshot.txId, tree, serviceCertPem: snapshotIdentity };
  const verifier = new LedgerVerifier({ trustedServiceCertPem: serviceCertPem, signatures: 'last', tree, ...(from && { from }) });
  const replayed: ReplayedLedger = {
    snapshot,
    store,
    tree,
    lastTxId: snapshot?.txId ?? { view: 0, seqno: 0 },
    leafDigests: new LeafDigests(base + 1),
    signatures: [],
    entries: [],
    views: snapshot === undefined ? [] : [...snapshot.viewHistory],
    committedSeqno: base,
    chunks: [],
    tornEntry: undefined,
    tornChunk,
    setAside: setAside.map((file) => file.name),
    setAsideLastSeqnos: new Map(setAside.map((file) => [file.name, lastSeqnoOf(file)])),
    baseConfiguration: snapshot === undefined ? [] : readTrustedNodeIds(store),
    ...(receiver === 'public only' && { ledgerSecretHistory: [] }),
  };
  if (snapshot !== undefined) {
    // The snapshot's own signature transaction, read from its state: receipts for it still work.
    const tx = store.beginTransaction();
    const signature = signatureRecordFrom(base, (map) => tx.map(map).get(SINGLETON_KEY));
    // A recovery from a snapshot walks the chain of secrets back from the last write before it too
    // (it gives the secret in force at the snapshot, which its private maps are sealed under).
    const history = tx.map(HISTORICAL_LEDGER_SECRET_MAP);
    const written = history.get(SINGLETON_KEY);
    if (receiver === 'public only' && written !== undefined) replayed.ledgerSecretHistory!.push({ seqno: Number(history.getVersionOfPreviousWrite(SINGLETON_KEY)), value: written });
    tx.abort();
    if (signature !== undefined) replayed.signatures.push(signature);
  }
  const committedBound = Math.max(base, ...files.filter((f) => f.chunk.committed).map((f) => f.chunk.last ?? 0));
  let configuration = replayed.baseConfiguration;
  const apply = ({ entry, digest, file }: Verified, signature: SignatureRecord | undefined): void => {
    const { txId } = entry;
    if (txId.seqno > (options.applyUpTo ?? Infinity)) return;
    if (receiver === 'public only') {
      const history = singletonWrite(entry.publicMaps, HISTORICAL_LEDGER_SECRET_MAP);
      if (history !== undefined) replayed.ledgerSecretHistory!.push({ seqno: txId.seqno, value: history });
    }
    const writeSet = { public: entry.publicMaps, private: receiver === 'public only' ? [] : openVerified(entry, file, receiver, serviceCertPem) };
    store.applyWriteSet(writeSet, BigInt(txId.seqno));
    if (receiver !== 'public only') receiveLedgerSecret(receiver, txId.seqno, entry.publicMaps, () => recordsServiceIdentity(store, serviceCertPem));
    replayed.leafDigests.push(digest, entry.claimsDigest ?? NO_CLAIMS_DIGEST);
    if (signature !== undefined) {
      replayed.signatures.push(signature);
      if (txId.seqno <= committedBound) replayed.committedSeqno = txId.seqno;
    }
    let changed: string[] | undefined;
    if (changesNodes(writeSet)) {
      const trusted = readTrustedNodeIds(store);
      if (!sameNodes(trusted, configuration)) changed = configuration = trusted;
    }
    replayed.entries.push({ seqno: txId.seqno, view: txId.view, data: entry.raw, isSignature: signature !== undefined, ...(changed && { configuration: changed }) });
    if (replayed.views.at(-1)?.view !== txId.view) replayed.views.push({ view: txId.view, fromSeqno: txId.seqno });
    replayed.lastTxId = txId;
  };
  // One pass, a file at a time: entries wait until a signature covers them (an unsigned tail
  // cannot commit and is dropped, as CCF drops it), then are decrypted and applied.
  let unsigned: Verified[] = [];
  const closingSeqnos = new Set<number>();
  const read: { file: ReplayChunkFile; layout: VerifiedChunk }[] = [];
  try {
    for (const file of files) {
      let bytes: Uint8Array;
      if (file === open?.file) {
        // A crash cut the entry being appended short: dropped, as CCF stops reading an open chunk there.
        const { count, end } = open.entries;
        if (end < open.bytes.length) replayed.tornEntry = { file: file.name, seqno: file.chunk.first + count, bytes: open.bytes.length - end };
        bytes = open.bytes.subarray(0, end);
      } else {
        bytes = readNodeFile(file.path, 'ledger chunk');
      }
      const layout = verifier.addChunk(file.name, bytes, (entry, digest) => {
        if ((entry.flags & EntryFlags.forceLedgerChunkAfter) !== 0) closingSeqnos.add(entry.txId.seqno);
        const signature = signatureRecordOf(entry.txId.seqno, entry.publicMaps);
        if (signature === undefined) return void unsigned.push({ entry, digest, file: file.name });
        for (const pending of unsigned) apply(pending, undefined);
        unsigned = [];
        apply({ entry, digest, file: file.name }, signature);
      });
      read.push({ file, layout });
      yield;
    }
    // The last signature's own signatures are checked here: a failure refuses the whole ledger.
    if (files.length > 0) verifier.finish();
  } catch (error) {
    throw namingReadOnlyFile(error, files);
  }
  const lastSeqno = replayed.lastTxId.seqno;
  tree.truncate(lastSeqno + 1); // the verifier appended the unsigned tail too
  for (const { file, layout } of read) {
    const kept = Math.min(layout.offsets.length, lastSeqno - file.chunk.first + 1);
    if (kept <= 0 || file.readOnly) continue;
    const lastKept = file.chunk.first + kept - 1;
    replayed.chunks.push({
      name: file.name,
      path: file.path,
      first: file.chunk.first,
      last: lastKept,
      offsets: layout.offsets.slice(0, kept),
      entriesEnd: kept < layout.offsets.length ? layout.offsets[kept]! : layout.entriesEnd,
      complete: layout.complete && kept === layout.offsets.length,
      closesChunk: closingSeqnos.has(lastKept),
    });
  }
  store.compact(BigInt(replayed.committedSeqno));
  return replayed;
}
