// What a receipt is made of, for a committed transaction: the signature transaction that covers it
// and, unless it is that signature, its Merkle proof up to the signed root and its leaf components.
// A node builds it from memory for recent transactions; for older ones (whose Merkle leaves it
// flushed) `CoverageFromLedger` reads it back from the node's ledger files, as CCF serves old
// receipts through historical queries: the transaction's entry, and the signature entry after it,
// which holds the tree CCF serializes at every signature. A signature entry is read, its tree
// rebuilt and its signature checked against the service certificate (through the endorsement of the
// previous identity for one from before a disaster recovery) once for all the transactions
// it covers (a range of them costs one such check per signature, not per transaction); each
// transaction's entry must then hash to a leaf whose proof reaches the signed root. The first
// request starts the read and is told to come back (`TransactionNotCached`, answered 202 with
// Retry-After). What does not parse or verify is `LedgerEntryMalformed`, naming the file and the
// seqno, for every request.

import { equalBytes } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { decodeEntry } from '../ledger/entry.js';
import { leafOf, NO_CLAIMS_DIGEST, writeSetDigest } from '../ledger/leaf.js';
import { MerkleTree, type ProofStep } from '../ledger/merkle-tree.js';
import { buildReceipt, buildSignatureReceipt, verifyReceipt, type Receipt } from '../ledger/receipt.js';
import { SIGNATURES_MAP, singletonWrite, TREE_MAP } from '../ledger/signature.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { malformedEntry, parseReadBack, type EntryReadBack } from './entry-read-back.js';
import { LoadedCache } from './loaded-cache.js';
import { signatureRecordOf, type SignatureRecord } from './signature-record.js';

/** Coverages read back from the ledger kept at once (least recently used first out). */
export const LEDGER_COVERAGE_CACHE_MAX = 1024;
/**
 * Signature entries kept read back and checked, each with its tree (the leaves since the signature
 * before it, 32 bytes each, twice over with the tree's inner nodes).
 */
const SIGNED_TREES_CACHED_MAX = 64;
/** Committed chunks from before a node's snapshot whose signature seqnos are kept (a few numbers each). */
const CHUNKS_INDEXED_MAX = 256;

export interface ReceiptLeaf {
  proof: ProofStep[];
  writeSetDigest: Uint8Array;
  commitEvidence: string;
  claimsDigest: Uint8Array;
}

export interface Coverage {
  signature: SignatureRecord;
  /** Undefined for a signature transaction, whose receipt is its signed root. */
  leaf: ReceiptLeaf | undefined;
}

/** The receipt a coverage makes, with the endorsements its signer needs (see ServiceEndorsements). */
export function receiptOf({ signature, leaf }: Coverage, serviceEndorsements: readonly string[]): Receipt {
  const signer = {
    nodeId: signature.nodeId,
    certPem: signature.certPem,
    signatureDer: signature.signatureDer,
    ...(serviceEndorsements.length > 0 && { serviceEndorsements }),
  };
  return leaf === undefined ? buildSignatureReceipt({ ...signer, root: signature.root }) : buildReceipt({ ...signer, ...leaf });
}

/** A committed chunk file: its name and the seqnos it holds. */
export interface CommittedChunk {
  name: string;
  first: number;
  last: number;
}

export interface LedgerCoverageSource {
  readEntry(seqno: number): Promise<EntryReadBack>;
  /** Some entries of the committed chunk file holding `seqno`, from it on; undefined when there is none. */
  readCommittedFrom(seqno: number): Promise<EntryReadBack[] | undefined>;
  /** The committed chunk file holding `seqno`, if the node's ledger directories have one. */
  committedChunkHolding(seqno: number): Promise<CommittedChunk | undefined>;
  commitEvidenceFor(txId: TxId): string;
  serviceCertPem: string;
  /** What chains a signing node's certificate to the service certificate (ServiceEndorsements.forSigner). */
  endorsementsFor(signerCertPem: string): Promise<readonly string[]>;
  /**
   * Whether the node's ledger files may hold `seqno`: known at once, so that a node asked for a
   * transaction it can never read back says so every time rather than starting a read.
   */
  mayHold(seqno: number): boolean;
}

interface ReadCoverage extends Coverage {
  /** The transaction's Merkle leaf, as the signed tree holds it. */
  leafHash: Uint8Array;
}

/** In a chunk's list of signatures, in seqno order: a signature transaction, or an entry that does not parse (it may be one). */
interface SignatureMark {
  seqno: number;
  damage: CocoError | undefined;
}

/** A signature entry read back and checked: its record, whose signature verifies, and the tree that reaches its root. */
interface SignedTree {
  signature: SignatureRecord;
  /** Undefined when the entry holds none; only the signature's own receipt needs no tree. */
  tree: MerkleTree | undefined;
  file: string;
}

export class CoverageFromLedger {
  private readonly cache = new LoadedCache<number, ReadCoverage>(LEDGER_COVERAGE_CACHE_MAX);
  readonly #signedTrees = new LoadedCache<number, SignedTree>(SIGNED_TREES_CACHED_MAX);
  /** The signature seqnos of committed chunks from before the snapshot the node started from, by file name. */
  readonly #chunkSignatures = new LoadedCache<string, SignatureMark[]>(CHUNKS_INDEXED_MAX);

  constructor(private readonly source: LedgerCoverageSource) {}

  /**
   * The coverage of committed `txId` by the signature at `signatureSeqno` (undefined: the first
   * signature after it in the committed chunk files, for a transaction from before the snapshot the
   * node started from), if read already; else starts reading it and throws
   * CocoError('TransactionNotCached'). A read that failed throws its error on every later call
   * (each reads again, in case the file was restored). ResourceNotFound, at once, for a transaction
   * the node's files cannot hold.
   */
  get(txId: TxId, signatureSeqno: number | undefined): Coverage {
    if (!this.source.mayHold(txId.seqno)) throw notHeld(`${formatTxId(txId)} and the signature after it`);
    const coverage = this.cache.get(txId.seqno, () => this.read(txId, signatureSeqno));
    if (coverage !== undefined) return coverage;
    throw new CocoError('TransactionNotCached', `${formatTxId(txId)} and the signature over it are being read back from the ledger; ask again shortly`);
  }

  /** Resolves once a read of `seqno` started by `get` has finished (for callers that can wait). */
  async settled(seqno: number): Promise<void> {
    await this.cache.settled(seqno);
  }

  /** The Merkle leaf of `seqno`, from a coverage read back, if one is cached. */
  leaf(seqno: number): Uint8Array | undefined {
    return this.cache.peek(seqno)?.leafHash;
  }

  /**
   * The first signature at or after `seqno` in the committed chunk holding it (which ends with one),
   * from the signatures of that chunk, found once per chunk: many transactions share a signature.
   * A damaged entry on the way is that entry's LedgerEntryMalformed, as a search would meet it.
   */
  private async signatureAfter(txId: TxId): Promise<number> {
    const chunk = await this.source.committedChunkHolding(txId.seqno);
    if (chunk === undefined) throw notHeld(`${formatTxId(txId)} and the signature after it`);
    const marks = await this.#chunkSignatures.loaded(chunk.name, () => this.signaturesIn(chunk));
    const mark = marks.find(({ seqno }) => seqno >= txId.seqno);
    if (mark === undefined) throw malformedEntry({ file: chunk.name, seqno: chunk.last }, `a committed chunk ends with a signature transaction, and this one has none from seqno ${txId.seqno} on`);
    if (mark.damage !== undefined) throw mark.damage;
    return mark.seqno;
  }

  /** The signature transactions of a committed chunk and its entries that do not parse, read a batch of entries per turn of the event loop. */
  private async signaturesIn(chunk: CommittedChunk): Promise<SignatureMark[]> {
    const marks: SignatureMark[] = [];
    for (let at = chunk.first; at <= chunk.last; ) {
      const entries = await this.source.readCommittedFrom(at);
      if (entries === undefined || entries.length === 0) break;
      for (const read of entries) {
        try {
          const { publicMaps } = parseReadBack(read, (bytes) => decodeEntry(bytes).entry);
          if (singletonWrite(publicMaps, SIGNATURES_MAP) !== undefined) marks.push({ seqno: read.seqno, damage: undefined });
        } catch (damage) {
          marks.push({ seqno: read.seqno, damage: damage as CocoError });
        }
      }
      at += entries.length;
    }
    return marks;
  }

  /** The signature entry at `seqno`, read back, its tree rebuilt, and checked: once for every transaction it covers. */
  private async readSignedTree(seqno: number): Promise<SignedTree> {
    const read = await this.source.readEntry(seqno);
    const signed = parseReadBack(read, (bytes) => {
      const { entry } = decodeEntry(bytes);
      const signature = entry.txId.seqno === seqno ? signatureRecordOf(seqno, entry.publicMaps) : undefined;
      if (signature === undefined) throw new CocoError('LedgerEntryMalformed', `it is not the signature transaction expected there (it holds ${formatTxId(entry.txId)})`);
      const serialized = singletonWrite(entry.publicMaps, TREE_MAP);
      const tree = serialized && MerkleTree.deserialize(serialized);
      if (tree !== undefined && !equalBytes(tree.rootAt(seqno), signature.root)) throw new CocoError('LedgerEntryMalformed', 'its Merkle tree does not reach the root it signs');
      return { signature, tree, file: read.file };
    });
    // A signature from before a recovery verifies through the endorsement of the previous identity.
    const endorsements = await this.source.endorsementsFor(signed.signature.certPem);
    try {
      verifyReceipt(receiptOf({ signature: signed.signature, leaf: undefined }, endorsements), this.source.serviceCertPem, { at: 'ignore-validity' });
    } catch (error) {
      throw malformedEntry(read, 'its signature over the Merkle root does not verify against the service certificate', error);
    }
    return signed;
  }

  private async read(txId: TxId, knownSignatureSeqno: number | undefined): Promise<ReadCoverage> {
    const signatureSeqno = knownSignatureSeqno ?? (await this.signatureAfter(txId));
    const [entryRead, { signature, tree, file }] = await Promise.all([
      this.source.readEntry(txId.seqno),
      this.#signedTrees.loaded(signatureSeqno, () => this.readSignedTree(signatureSeqno)),
    ]);
    const entry = parseReadBack(entryRead, (bytes) => {
      const { entry } = decodeEntry(bytes);
      if (entry.txId.seqno !== txId.seqno || entry.txId.view !== txId.view) throw new CocoError('LedgerEntryMalformed', `it holds ${formatTxId(entry.txId)}, not ${formatTxId(txId)}`);
      return entry;
    });
    const digest = writeSetDigest(entry);
    const leafHash = leafOf(entry, digest);
    // A signature transaction's receipt is its signed root, checked with the signature.
    if (txId.seqno === signatureSeqno) return { signature, leaf: undefined, leafHash };
    if (tree === undefined) throw malformedEntry({ file, seqno: signatureSeqno }, 'the signature transaction holds no Merkle tree');
    let proof: ProofStep[];
    try {
      proof = tree.proofAt(txId.seqno, signatureSeqno);
    } catch (error) {
      throw malformedEntry({ file, seqno: signatureSeqno }, `its Merkle tree holds no proof for seqno ${txId.seqno}, which it should cover`, error);
    }
    if (!MerkleTree.verifyProof(leafHash, proof, signature.root)) throw malformedEntry(entryRead, `its Merkle leaf is not the one the signature transaction at seqno ${signatureSeqno} (${file}) signs`);
    const leaf = { proof, writeSetDigest: digest, commitEvidence: this.source.commitEvidenceFor(txId), claimsDigest: entry.claimsDigest?.slice() ?? NO_CLAIMS_DIGEST };
    return { signature, leaf, leafHash };
  }
}

/** What a node that started from a snapshot answers, at once and every time, for ledger entries from before it that it lacks. */
export function notHeld(what: string): CocoError {
  return new CocoError('ResourceNotFound', `this node's ledger files do not hold ${what} (it started from a snapshot at or after that seqno): ask a node that holds that part of the ledger`);
}
