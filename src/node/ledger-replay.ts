// Rebuilds a node's state from its own ledger directory for a restart: every chunk is verified
// against the service identity (a tampered ledger is refused), then each transaction up to the
// last signature is decrypted and applied to a fresh store while the Merkle tree, the receipts'
// leaf components and the consensus log (with the configuration each entry sets) are rebuilt.
// Transactions after the last signature cannot commit and are dropped, as CCF drops an unsigned
// suffix; what is signed but past the last `.committed` chunk stays uncommitted (consensus decides).

import { readFileSync } from 'node:fs';
import type { LogEntry } from '../consensus/log-entry.js';
import { sha256 } from '../crypto/hash.js';
import { Store } from '../kv/store.js';
import { decodeChunk } from '../ledger/chunk-file.js';
import { openEntry } from '../ledger/entry-sealing.js';
import { GENESIS_PLACEHOLDER_LEAF, leafOf } from '../ledger/leaf.js';
import type { LedgerSecrets } from '../ledger/ledger-secrets.js';
import type { ViewStart } from '../ledger/ledger-writer.js';
import { LedgerVerifier } from '../ledger/ledger-verifier.js';
import { MerkleTree } from '../ledger/merkle-tree.js';
import type { TxId } from '../ledger/tx-id.js';
import { listChunkFiles } from './ledger-directory.js';
import { changesNodes, sameNodes, trustedNodeIds } from './service-nodes.js';
import { signatureRecordOf, type SignatureRecord } from './signature-record.js';

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
  store: Store;
  tree: MerkleTree;
  lastTxId: TxId;
  leafComponents: { writeSetDigest: Uint8Array; claimsDigest: Uint8Array }[];
  signatures: SignatureRecord[];
  /** The consensus log: every kept entry, with the configuration it sets where it changes one. */
  entries: LogEntry[];
  /** The view in force from each seqno on. */
  views: ViewStart[];
  /** The last signature known committed: the end of the last `.committed` chunk, or 0. */
  committedSeqno: number;
  chunks: ReplayedChunk[];
}

const NO_CLAIMS = new Uint8Array(32);

export function replayLedger(directory: string, secrets: LedgerSecrets, serviceCertPem: string): ReplayedLedger {
  const files = listChunkFiles(directory).map((file) => ({ ...file, bytes: new Uint8Array(readFileSync(file.path)) }));
  const verifier = new LedgerVerifier({ trustedServiceCertPem: serviceCertPem });
  for (const file of files) verifier.addChunk(file.name, file.bytes);
  const summary = verifier.finish();
  const lastSeqno = summary.lastVerifiedTxId?.seqno ?? 0;
  const committedBound = Math.min(lastSeqno, Math.max(0, ...files.filter((f) => f.chunk.committed).map((f) => f.chunk.last ?? 0)));

  const store = new Store();
  const tree = new MerkleTree();
  tree.append(GENESIS_PLACEHOLDER_LEAF);
  const replayed: ReplayedLedger = { store, tree, lastTxId: { view: 0, seqno: 0 }, leafComponents: [], signatures: [], entries: [], views: [], committedSeqno: 0, chunks: [] };
  let configuration: string[] = [];
  for (const file of files) {
    const decoded = decodeChunk(file.bytes, file.name);
    const kept = decoded.entries.filter((entry) => entry.txId.seqno <= lastSeqno);
    if (kept.length === 0) continue;
    for (const entry of kept) {
      const { txId } = entry;
      const writeSet = { public: entry.publicMaps, private: openEntry(entry, secrets.keyFor(txId.seqno)) };
      store.applyWriteSet(writeSet, BigInt(txId.seqno));
      tree.append(leafOf(entry));
      replayed.leafComponents.push({ writeSetDigest: sha256(entry.raw), claimsDigest: entry.claimsDigest ?? NO_CLAIMS });
      const signature = signatureRecordOf(txId.seqno, entry.publicMaps);
      if (signature !== undefined) {
        replayed.signatures.push(signature);
        if (txId.seqno <= committedBound) replayed.committedSeqno = txId.seqno;
      }
      let changed: string[] | undefined;
      if (changesNodes(writeSet)) {
        const tx = store.beginTransaction();
        const trusted = trustedNodeIds(tx);
        tx.abort();
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
