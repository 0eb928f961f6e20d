// The two digests of each transaction's Merkle leaf that a receipt reveals besides the commit
// evidence: the write set's and the claims'. A node keeps them for every transaction it holds, so
// they live in 32-byte slots of large blocks (one object per 4,096 transactions, not two buffers
// each) and only claims digests other than the usual all-zero one are kept apart.

import { invariant } from '../errors.js';
import { NO_CLAIMS_DIGEST } from './leaf.js';

const DIGEST_BYTES = 32;
const SLOTS_PER_BLOCK = 4096;

export interface LeafDigestPair {
  writeSetDigest: Uint8Array;
  claimsDigest: Uint8Array;
}

function isZero(bytes: Uint8Array): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

export class LeafDigests {
  /** Undefined where `forgetBefore` dropped a block. */
  private readonly blocks: (Uint8Array | undefined)[] = [];
  private readonly claims = new Map<number, Uint8Array>();
  private count = 0;

  /** Holds the digests of seqnos `firstSeqno`, `firstSeqno + 1`, ... as they are pushed. */
  constructor(readonly firstSeqno: number) {}

  /** The seqno after the last one held. */
  get nextSeqno(): number {
    return this.firstSeqno + this.count;
  }

  /** Adds the digests of seqno `nextSeqno`. */
  push(writeSetDigest: Uint8Array, claimsDigest: Uint8Array): void {
    invariant(writeSetDigest.length === DIGEST_BYTES && claimsDigest.length === DIGEST_BYTES, 'leaf digests are 32 bytes');
    const block = Math.floor(this.count / SLOTS_PER_BLOCK);
    if (block === this.blocks.length) this.blocks.push(new Uint8Array(SLOTS_PER_BLOCK * DIGEST_BYTES));
    (this.blocks[block] as Uint8Array).set(writeSetDigest, (this.count % SLOTS_PER_BLOCK) * DIGEST_BYTES);
    if (!isZero(claimsDigest)) this.claims.set(this.count, claimsDigest.slice());
    this.count++;
  }

  /** The digests of `seqno` (copies), or undefined when it is not held. */
  get(seqno: number): LeafDigestPair | undefined {
    const index = seqno - this.firstSeqno;
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.count) return undefined;
    const block = this.blocks[Math.floor(index / SLOTS_PER_BLOCK)];
    if (block === undefined) return undefined;
    const at = (index % SLOTS_PER_BLOCK) * DIGEST_BYTES;
    return {
      writeSetDigest: block.slice(at, at + DIGEST_BYTES),
      claimsDigest: (this.claims.get(index) ?? NO_CLAIMS_DIGEST).slice(),
    };
  }

  /** Frees the digests of seqnos before `seqno` (whole blocks of them: some before it may stay). */
  forgetBefore(seqno: number): void {
    const blocks = Math.min(Math.floor((seqno - this.firstSeqno) / SLOTS_PER_BLOCK), Math.floor(this.count / SLOTS_PER_BLOCK));
    for (let block = 0; block < blocks; block++) this.blocks[block] = undefined;
    for (const index of this.claims.keys()) if (index < blocks * SLOTS_PER_BLOCK) this.claims.delete(index);
  }

  /** Forgets every seqno after `seqno` (a rolled-back suffix). */
  truncateAfter(seqno: number): void {
    const count = Math.max(0, Math.min(this.count, seqno - this.firstSeqno + 1));
    for (const index of this.claims.keys()) if (index >= count) this.claims.delete(index);
    this.blocks.length = Math.ceil(count / SLOTS_PER_BLOCK);
    this.count = count;
  }
}
