// Rebuilds a node's state from its own ledger directory for a restart: every chunk is verified
// against the service identity (a tampered ledger is refused), then each transaction up to the
// last signature is decrypted and applied to a fresh store (or to the state of a committed
// snapshot, replaying only the ledger after it) while the Merkle tree, the receipts' leaf
// components and the consensus log (with the configuration each entry sets) are rebuilt.
// Transactions after the last signature cannot commit and are dropped, as CCF drops an unsigned
// suffix; what is signed but past the last `.committed` chunk stays uncommitted (consensus decides).

import { existsSync, readFileSync } from 'node:fs';
import { SINGLETON_KEY } from '../ledger/signature.js';
import type { LoadedSnapshot } from './snapshot-directory.js';
import { CocoError } from '../errors.js';
import type { LogEntry } from '../consensus/log-entry.js';
import { Store } from '../kv/store.js';
import { decodeChunk } from '../ledger/chunk-file.js';
import { openEntry } from '../ledger/entry-sealing.js';
import { GENESIS_PLACEHOLDER_LEAF, leafOf, NO_CLAIMS_DIGEST, writeSetDigest } from '../ledger/leaf.js';
import { LeafDigests } from '../ledger/leaf-digests.js';
import type { ViewStart } from '../ledger/ledger-writer.js';
import { LedgerVerifier } from '../ledger/ledger-verifier.js';
import { MerkleTree } from '../ledger/merkle-tree.js';
import type { TxId } from '../ledger/tx-id.js';
import { listChunkFiles } from './ledger-directory.js';
import { receiveLedgerSecret, type LedgerSecretReceiver } from './ledger-rekey.js';
import { changesNodes, readTrustedNodeIds, sameNodes } from './service-nodes.js';
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
}

export interface ReplayedLedger {
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
  chunks: ReplayedChunk[];
}

/** Replays the ledger in `directory`; `receiver` holds the node's ledger secrets and takes those its rekeys send. */
export function replayLedger(directory: string, receiver: LedgerSecretReceiver, serviceCertPem: string, snapshot?: LoadedSnapshot): ReplayedLedger {
  const all = existsSync(directory) ? listChunkFiles(directory, { allowEmpty: snapshot !== undefined }) : [];
  const snapshotSeqno = snapshot?.txId.seqno ?? 0;
  // Chunks are cut at snapshots, so the ledger after one starts with a chunk of its own; a
  // snapshot that falls inside a chunk (taken elsewhere) is of no use when the whole ledger is here.
  if (snapshot !== undefined && all.some((file) => file.chunk.first <= snapshotSeqno && (file.chunk.last ?? Infinity) > snapshotSeqno)) {
    if (all[0]?.chunk.first !== 1) {
      throw new CocoError('SnapshotUnusable', `snapshot ${snapshot.name} ends inside a ledger chunk and the ledger before it is missing: remove the ledger directory to start from the snapshot alone`);
    }
    return replayLedger(directory, receiver, serviceCertPem);
  }
  const base = snapshotSeqno;
  const files = all.filter((file) => (file.chunk.last ?? Infinity) > base).map((file) => ({ ...file, bytes: new Uint8Array(readFileSync(file.path)) }));
  const tree = snapshot?.tree ?? new MerkleTree();
  if (snapshot === undefined) tree.append(GENESIS_PLACEHOLDER_LEAF);
  const verifier = new LedgerVerifier({ trustedServiceCertPem: serviceCertPem, ...(snapshot && { from: { txId: snapshot.txId, tree } }) });
  for (const file of files) verifier.addChunk(file.name, file.bytes);
  // A node that has just started from a snapshot has no ledger after it yet.
  const lastSeqno = files.length === 0 ? base : (verifier.finish().lastVerifiedTxId?.seqno ?? base);
  const committedBound = Math.min(lastSeqno, Math.max(base, ...files.filter((f) => f.chunk.committed).map((f) => f.chunk.last ?? 0)));

  const store = snapshot === undefined ? new Store() : Store.fromSnapshot(BigInt(base), snapshot.maps);
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
    baseConfiguration: snapshot === undefined ? [] : readTrustedNodeIds(store),
  };
  if (snapshot !== undefined) {
    // The snapshot's own signature transaction, read from its state: receipts for it still work.
    const tx = store.beginTransaction();
    const signature = signatureRecordFrom(base, (map) => tx.map(map).get(SINGLETON_KEY));
    tx.abort();
    if (signature !== undefined) replayed.signatures.push(signature);
  }
  let configuration = replayed.baseConfiguration;
  for (const file of files) {
    const decoded = decodeChunk(file.bytes, file.name);
    const kept = decoded.entries.filter((entry) => entry.txId.seqno <= lastSeqno);
    if (kept.length === 0) continue;
    for (const entry of kept) {
      const { txId } = entry;
      const writeSet = { public: entry.publicMaps, private: openEntry(entry, receiver.secrets.keyFor(txId.seqno)) };
      store.applyWriteSet(writeSet, BigInt(txId.seqno));
      receiveLedgerSecret(receiver, txId.seqno, entry.publicMaps);
      const digest = writeSetDigest(entry);
      tree.append(leafOf(entry, digest));
      replayed.leafDigests.push(digest, entry.claimsDigest ?? NO_CLAIMS_DIGEST);
      const signature = signatureRecordOf(txId.seqno, entry.publicMaps);
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
    }
    const lastIndex = kept.length - 1;
    replayed.chunks.push({
      name: file.name,
      path: file.path,
      first: kept[0]!.txId.seqno,
      last: kept[lastIndex]!.txId.seqno,
      offsets: decoded.offsets.slice(0, kept.length),
      entriesEnd: decoded.offsets[lastIndex]! + kept[lastIndex]!.raw.length,
      complete: decoded.complete && kept.length === decoded.entries.length,
    });
  }
  store.compact(BigInt(replayed.committedSeqno));
  return replayed;
}
