// Rebuilds a node's state from its own ledger directory for a restart: every chunk is verified
// against the service identity (a tampered ledger is refused), then each transaction up to the
// last signature is decrypted and applied to a fresh store while the Merkle tree, the receipts'
// leaf components and the view history are rebuilt. Transactions after the last signature were
// never committed and are dropped, as CCF drops an unsigned suffix.

import { readFileSync } from 'node:fs';
import { sha256 } from '../crypto/hash.js';
import { Store } from '../kv/store.js';
import { decodeChunk } from '../ledger/chunk-file.js';
import { openEntry } from '../ledger/entry-sealing.js';
import { GENESIS_PLACEHOLDER_LEAF, leafOf } from '../ledger/leaf.js';
import type { LedgerSecrets } from '../ledger/ledger-secrets.js';
import { LedgerVerifier } from '../ledger/ledger-verifier.js';
import { MerkleTree } from '../ledger/merkle-tree.js';
import { COSE_SIGNATURES_MAP, decodeCoseSignatureValue, decodePrimarySignature, SIGNATURES_MAP, singletonWrite } from '../ledger/signature.js';
import type { TxId } from '../ledger/tx-id.js';
import { listChunkFiles } from './ledger-directory.js';

export interface SignatureRecord {
  seqno: number;
  /** The node that signed, and its endorsed certificate: what a receipt names. */
  nodeId: string;
  certPem: string;
  signatureDer: Uint8Array;
  root: Uint8Array;
  /** The service's COSE Sign1 over the root, the base of COSE receipts. */
  cose: Uint8Array | undefined;
}

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
  /** View changes: the view in force from each seqno on. */
  views: { view: number; fromSeqno: number }[];
  chunks: ReplayedChunk[];
}

const NO_CLAIMS = new Uint8Array(32);

export function replayLedger(directory: string, secrets: LedgerSecrets, serviceCertPem: string): ReplayedLedger {
  const files = listChunkFiles(directory).map((file) => ({ ...file, bytes: new Uint8Array(readFileSync(file.path)) }));
  const verifier = new LedgerVerifier({ trustedServiceCertPem: serviceCertPem });
  for (const file of files) verifier.addChunk(file.name, file.bytes);
  const summary = verifier.finish();
  const lastSeqno = summary.lastVerifiedTxId?.seqno ?? 0;

  const store = new Store();
  const tree = new MerkleTree();
  tree.append(GENESIS_PLACEHOLDER_LEAF);
  const replayed: ReplayedLedger = { store, tree, lastTxId: { view: 0, seqno: 0 }, leafComponents: [], signatures: [], views: [], chunks: [] };
  for (const file of files) {
    const decoded = decodeChunk(file.bytes, file.name);
    const kept = decoded.entries.filter((entry) => entry.txId.seqno <= lastSeqno);
    if (kept.length === 0) continue;
    for (const entry of kept) {
      const { txId } = entry;
      const privateMaps = openEntry(entry, secrets.keyFor(txId.seqno));
      store.applyWriteSet({ public: entry.publicMaps, private: privateMaps }, BigInt(txId.seqno));
      tree.append(leafOf(entry));
      replayed.leafComponents.push({ writeSetDigest: sha256(entry.raw), claimsDigest: entry.claimsDigest ?? NO_CLAIMS });
      if (replayed.views.at(-1)?.view !== txId.view) replayed.views.push({ view: txId.view, fromSeqno: txId.seqno });
      const signature = singletonWrite(entry.publicMaps, SIGNATURES_MAP);
      if (signature !== undefined) {
        const decodedSignature = decodePrimarySignature(signature);
        const cose = singletonWrite(entry.publicMaps, COSE_SIGNATURES_MAP);
        replayed.signatures.push({
          seqno: txId.seqno,
          nodeId: decodedSignature.json.node,
          certPem: decodedSignature.json.cert ?? '',
          signatureDer: decodedSignature.signatureDer,
          root: decodedSignature.root,
          cose: cose && decodeCoseSignatureValue(cose),
        });
      }
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
  return replayed;
}
