// Writes a ledger in CCF's format: each transaction sealed into an entry with its commit evidence,
// leaves appended to the Merkle tree, signature transactions signed by the node (and COSE-signed
// by the service) over the root of everything before them, and a chunk closed after a signature
// once it reaches the target size. Pure: it returns each entry's bytes; the caller stores them.

import { toBase64, toHex, utf8 } from '../crypto/bytes.js';
import { signCoseSign1, type CoseHeader } from '../crypto/cose-sign1.js';
import { publicKeyId } from '../crypto/entity-id.js';
import { loadPrivateKey, signDigest, type PrivateSigningKey } from '../crypto/signing.js';
import type { MapChanges, WriteSet } from '../kv/write-set.js';
import { commitEvidence, commitEvidenceDigest, commitSecret } from './commit-evidence.js';
import { EntryFlags, EntryType } from './entry.js';
import { sealEntry } from './entry-sealing.js';
import { GENESIS_PLACEHOLDER_LEAF, leafFromDigests } from './leaf.js';
import { sha256 } from '../crypto/hash.js';
import type { HmacSha256Key } from '../crypto/kdf.js';
import type { LedgerSecrets } from './ledger-secrets.js';
import { MerkleTree } from './merkle-tree.js';
import { COSE_SIGNATURES_MAP, encodePrimarySignature, SIGNATURES_MAP, SINGLETON_KEY, TREE_MAP } from './signature.js';
import { formatTxId, type TxId } from './tx-id.js';

/** CCF's default `ledger.chunk_size`. */
export const CHUNK_BYTES_DEFAULT = 5 * 1024 * 1024;
const NO_CLAIMS = new Uint8Array(32);
/** COSE header labels CCF puts in the service's signature over the root. */
const COSE_CWT_CLAIMS = 15;
const CWT_IAT = 6;
const COSE_VERIFIABLE_DATA_STRUCTURE = 395;
const CCF_LEDGER_SHA256 = 2;

export interface SigningIdentity {
  nodePrivateKeyPem: string;
  /** The node certificate endorsed by the service identity. */
  nodeCertPem: string;
  /** The service key, for the COSE signature over the root; omit to write none (CCF before 6.x). */
  servicePrivateKeyPem?: string;
  serviceCertPem?: string;
}

/** Where a writer continues an existing ledger. */
export interface WriterResume {
  tree: MerkleTree;
  seqno: number;
  signatureSeqno: number;
}

export interface LedgerWriterOptions {
  view: number;
  resume?: WriterResume;
  secrets: LedgerSecrets;
  identity: SigningIdentity;
  chunkBytesTarget?: number;
}

export interface AppendResult {
  txId: TxId;
  commitEvidence: string;
  entry: Uint8Array;
  /** The changes the entry records (for a signature, the signature tables: apply them to the store). */
  writeSet: WriteSet;
  /** The entry ends its chunk: the next entry starts a new chunk file. */
  closesChunk: boolean;
  /** The receipt's leaf components besides the commit evidence. */
  writeSetDigest: Uint8Array;
  claimsDigest: Uint8Array;
}

export class LedgerWriter {
  readonly tree: MerkleTree;
  private seqno = 0;
  private signatureSeqno = 0;
  private chunkBytes = 0;
  private chunkRequested = false;
  private readonly nodeId: string;
  /** Derived once per ledger secret, not once per transaction. */
  private readonly commitSecrets = new WeakMap<Uint8Array, HmacSha256Key>();

  private readonly nodeKey: PrivateSigningKey;
  private readonly serviceSigner: { key: PrivateSigningKey; kid: Uint8Array } | undefined;

  constructor(private readonly options: LedgerWriterOptions) {
    if (options.resume === undefined) {
      this.tree = new MerkleTree();
      this.tree.append(GENESIS_PLACEHOLDER_LEAF);
    } else {
      this.tree = options.resume.tree;
      this.seqno = options.resume.seqno;
      this.signatureSeqno = options.resume.signatureSeqno;
    }
    const { identity } = options;
    this.nodeId = publicKeyId(identity.nodeCertPem);
    this.nodeKey = loadPrivateKey(identity.nodePrivateKeyPem);
    this.serviceSigner =
      identity.servicePrivateKeyPem === undefined || identity.serviceCertPem === undefined
        ? undefined
        : { key: loadPrivateKey(identity.servicePrivateKeyPem), kid: utf8(publicKeyId(identity.serviceCertPem)) };
  }

  /** Closes the current chunk at the next signature, whatever its size (governance's trigger_ledger_chunk). */
  requestChunk(): void {
    this.chunkRequested = true;
  }

  /** Seqno of the last signature transaction (0 before the first). */
  get lastSignatureSeqno(): number {
    return this.signatureSeqno;
  }

  get lastTxId(): TxId {
    return { view: this.options.view, seqno: this.seqno };
  }

  appendTransaction(writeSet: WriteSet, claimsDigest: Uint8Array = NO_CLAIMS): AppendResult {
    return this.append(writeSet, claimsDigest, 0);
  }

  /** Appends a signature transaction over every transaction so far; closes the chunk if it is full. */
  appendSignature(timestampSeconds: number): AppendResult {
    const txId = { view: this.options.view, seqno: this.seqno + 1 };
    const root = this.tree.root();
    const { identity } = this.options;
    // Key order as CCF's JSON writer emits it.
    const signature = encodePrimarySignature({
      cert: identity.nodeCertPem,
      commit_seqno: 0,
      commit_view: 0,
      hashed_nonce: '0'.repeat(64),
      node: this.nodeId,
      root: toHex(root),
      seqno: txId.seqno,
      sig: toBase64(signDigest(this.nodeKey, root)),
      view: txId.view,
    });
    const maps: MapChanges[] = [];
    if (this.serviceSigner !== undefined) {
      const header: CoseHeader = new Map<number | string, unknown>([
        [4, this.serviceSigner.kid],
        [COSE_VERIFIABLE_DATA_STRUCTURE, CCF_LEDGER_SHA256],
        [COSE_CWT_CLAIMS, new Map([[CWT_IAT, timestampSeconds]])],
        ['ccf.v1', new Map([['txid', formatTxId(txId)]])],
      ]);
      const cose = signCoseSign1({ privateKey: this.serviceSigner.key, protectedHeader: header, payload: root, detached: true });
      maps.push(singletonMap(COSE_SIGNATURES_MAP, utf8(JSON.stringify(toBase64(cose)))));
    }
    maps.push(singletonMap(SIGNATURES_MAP, signature));
    // CCF stores the leaves since the previous signature, and what is needed to rebuild the root.
    maps.push(singletonMap(TREE_MAP, this.tree.serialize(this.signatureSeqno, this.tree.size)));
    const full = this.chunkRequested || this.chunkBytes >= (this.options.chunkBytesTarget ?? CHUNK_BYTES_DEFAULT);
    this.chunkRequested = false;
    const result = this.append({ public: maps, private: [] }, NO_CLAIMS, full ? EntryFlags.forceLedgerChunkAfter : 0);
    this.signatureSeqno = txId.seqno;
    return result;
  }

  private append(writeSet: WriteSet, claimsDigest: Uint8Array, flags: number): AppendResult {
    const txId = { view: this.options.view, seqno: this.seqno + 1 };
    const key = this.options.secrets.keyFor(txId.seqno);
    const evidence = commitEvidence(this.commitSecretFor(key), txId);
    const evidenceDigest = commitEvidenceDigest(evidence);
    const entry = sealEntry({
      txId,
      flags,
      entryType: EntryType.WriteSetWithCommitEvidenceAndClaims,
      claimsDigest,
      commitEvidenceDigest: evidenceDigest,
      publicMaps: writeSet.public,
      privateMaps: writeSet.private,
      key,
    });
    const writeSetDigest = sha256(entry);
    this.tree.append(leafFromDigests(writeSetDigest, evidenceDigest, claimsDigest));
    this.seqno = txId.seqno;
    const closesChunk = (flags & EntryFlags.forceLedgerChunkAfter) !== 0;
    this.chunkBytes = closesChunk ? 0 : this.chunkBytes + entry.length;
    return { txId, commitEvidence: evidence, entry, writeSet, closesChunk, writeSetDigest, claimsDigest };
  }

  /** The commit evidence of a transaction this writer wrote (revealed in its receipt once committed). */
  commitEvidenceFor(txId: TxId): string {
    return commitEvidence(this.commitSecretFor(this.options.secrets.keyFor(txId.seqno)), txId);
  }

  private commitSecretFor(ledgerSecretKey: Uint8Array): HmacSha256Key {
    let secret = this.commitSecrets.get(ledgerSecretKey);
    if (secret === undefined) this.commitSecrets.set(ledgerSecretKey, (secret = commitSecret(ledgerSecretKey)));
    return secret;
  }
}

function singletonMap(name: string, value: Uint8Array): MapChanges {
  return { name, readVersion: 0n, reads: [], writes: [{ key: SINGLETON_KEY, value }], removes: [] };
}
