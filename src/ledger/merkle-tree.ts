// CCF's Merkle history tree (merklecpp's shape) over SHA-256: leaves appended one per transaction,
// an inner node is SHA-256(left ‖ right), and at each level an odd last node is promoted unchanged.
// Appends cost one hash amortized; roots and proofs for any past size come from stored perfect
// subtrees; `serialize` writes exactly the bytes CCF stores in `public:ccf.internal.tree`.

import { concatBytes, equalBytes } from '../crypto/bytes.js';
import { sha256 } from '../crypto/hash.js';
import { CocoError, invariant } from '../errors.js';

export const HASH_BYTES = 32;
/** Leaf counts and indexes must stay exact as JavaScript numbers. */
export const TREE_LEAVES_MAX = Number.MAX_SAFE_INTEGER;
/** Serialized header: u64 big-endian count of leaves held, u64 big-endian count of flushed leaves. */
const SERIALIZED_HEADER_BYTES = 16;
const LEVEL_NODES_INITIAL = 64;

/** One step from a leaf toward the root: `left` means the sibling is on the left, acc = H(left ‖ acc). */
export type ProofStep = { left: Uint8Array } | { right: Uint8Array };

/**
 * The complete (perfect) subtrees of 2^k leaves at level k, node j covering leaves
 * [j·2^k, (j+1)·2^k), held contiguously from absolute node index `base`. Nodes never change once
 * complete, which is what makes past roots and proofs free.
 */
interface Level {
  base: number;
  count: number;
  hashes: Uint8Array;
}

export class MerkleTree {
  readonly #levels: Level[] = [];
  #size = 0;
  #flushed = 0;
  /** Scratch input for hashing a node with a value that is not stored next to it. */
  readonly #pair = new Uint8Array(2 * HASH_BYTES);

  /** Number of leaves, flushed ones included: the next leaf gets this index. */
  get size(): number {
    return this.#size;
  }

  /** Leaves before this index were flushed: roots, proofs and leaves are available from here on. */
  get flushed(): number {
    return this.#flushed;
  }

  append(leaf: Uint8Array): void {
    checkHash(leaf, 'leaf');
    if (this.#size >= TREE_LEAVES_MAX) {
      throw new CocoError('MerkleTreeFull', `the tree already holds ${TREE_LEAVES_MAX} leaves`);
    }
    let level = this.#level(0);
    pushNode(level, leaf);
    // Each odd index completes a pair: hash the two adjacent stored nodes into the level above.
    let index = this.#size;
    for (let k = 0; index % 2 === 1; k++) {
      const offset = (index - 1 - level.base) * HASH_BYTES;
      const parent = this.#level(k + 1);
      pushNode(parent, sha256(level.hashes.subarray(offset, offset + 2 * HASH_BYTES)));
      index = (index - 1) / 2;
      level = parent;
    }
    this.#size++;
  }

  leaf(index: number): Uint8Array {
    this.#checkIndex(index, this.#size);
    return this.#node(0, index).slice();
  }

  root(): Uint8Array {
    return this.rootAt(this.#size);
  }

  /** The root the tree had when it held `size` leaves (indexes 0..size-1). */
  rootAt(size: number): Uint8Array {
    this.#checkSize(size);
    // The root is the right fold of the perfect subtrees of `size`'s binary decomposition, the
    // smallest rightmost: the same tree that pairing left to right with promotion builds.
    let acc: Uint8Array | undefined;
    for (let k = 0, rest = size; rest > 0; k++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1) acc = this.#prepend(k, rest - 1, acc);
    }
    invariant(acc !== undefined, 'a non-empty tree has a root');
    return acc;
  }

  proof(index: number): ProofStep[] {
    return this.proofAt(index, this.#size);
  }

  /** The path from leaf `index` to `rootAt(size)`. */
  proofAt(index: number, size: number): ProofStep[] {
    this.#checkSize(size);
    this.#checkIndex(index, size);
    const steps: ProofStep[] = [];
    // `tail` is the root of the last, incomplete node of level k: the fold of size's subtrees below k.
    let tail: Uint8Array | undefined;
    for (let k = 0, i = index, width = size; width > 1; k++) {
      const span = 2 ** k;
      if (i % 2 === 1) {
        steps.push({ left: this.#node(k, i - 1).slice() });
      } else if (i + 1 < width) {
        const siblingComplete = (i + 2) * span <= size;
        invariant(siblingComplete || tail !== undefined, 'an incomplete sibling has a partial root');
        steps.push({ right: siblingComplete ? this.#node(k, i + 1).slice() : (tail as Uint8Array) });
      }
      const complete = Math.floor(size / span);
      if (complete % 2 === 1) tail = this.#prepend(k, complete - 1, tail);
      i = Math.floor(i / 2);
      width = Math.ceil(width / 2);
    }
    return steps;
  }

  /** Drops the leaves from index `size` on (a rollback); flushed leaves cannot come back. */
  truncate(size: number): void {
    if (!Number.isSafeInteger(size) || size < this.#flushed || size > this.#size) {
      throw new CocoError(
        'MerkleTreeOutOfRange',
        `cannot truncate to ${size} leaves: the tree holds leaves ${this.#flushed} to ${this.#size - 1}`,
      );
    }
    this.#levels.forEach((level, k) => {
      level.count = Math.floor(size / 2 ** k) - level.base;
      invariant(level.count >= 0, 'truncation keeps every node the flushed prefix needs');
    });
    this.#size = size;
  }

  /**
   * Forgets the leaves before `index` (committed history no longer needed for proofs), keeping
   * only the perfect subtrees on the left edge that later roots need. Storage is reused, not
   * shrunk: memory stays at the high-water mark of nodes held at once.
   */
  flush(index: number): void {
    if (!Number.isSafeInteger(index) || index < this.#flushed || index > this.#size) {
      throw new CocoError(
        'MerkleTreeOutOfRange',
        `cannot flush to leaf ${index}: the tree holds leaves ${this.#flushed} to ${this.#size - 1}`,
      );
    }
    this.#flushed = index;
    this.#levels.forEach((level, k) => {
      const base = baseFor(k, index);
      const dropped = base - level.base;
      level.hashes.copyWithin(0, dropped * HASH_BYTES, level.count * HASH_BYTES);
      level.count -= dropped;
      level.base = base;
    });
  }

  /**
   * CCF's compact serialization of the tree holding leaves [from, size): u64 BE leaf count, u64 BE
   * `from`, those leaves, then per set bit of `from` (lowest first) the perfect subtree to its left.
   * At the signature transaction of seqno g, CCF stores `serialize(previous signature's seqno, g)`:
   * the tree of leaves 0..g-1, which excludes the signature transaction itself (checked against
   * real ledgers, byte for byte).
   */
  serialize(from = this.#flushed, size = this.#size): Uint8Array {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(size) || from < this.#flushed || from > size || size > this.#size) {
      throw new CocoError(
        'MerkleTreeOutOfRange',
        `cannot serialize leaves ${from} to ${size - 1}: the tree holds leaves ${this.#flushed} to ${this.#size - 1}`,
      );
    }
    const leaves = size - from;
    const out = new Uint8Array(SERIALIZED_HEADER_BYTES + (leaves + popCount(from)) * HASH_BYTES);
    const view = new DataView(out.buffer);
    view.setBigUint64(0, BigInt(leaves));
    view.setBigUint64(8, BigInt(from));
    let offset = SERIALIZED_HEADER_BYTES;
    if (leaves > 0) {
      const level = this.#levels[0];
      invariant(level !== undefined, 'leaves are stored at level 0');
      out.set(level.hashes.subarray((from - level.base) * HASH_BYTES, (size - level.base) * HASH_BYTES), offset);
      offset += leaves * HASH_BYTES;
    }
    for (let k = 0, rest = from; rest > 0; k++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1) {
        out.set(this.#node(k, rest - 1), offset);
        offset += HASH_BYTES;
      }
    }
    return out;
  }

  /** Rebuilds a tree from CCF's serialization: roots and proofs work for every leaf it holds. */
  static deserialize(bytes: Uint8Array): MerkleTree {
    if (bytes.length < SERIALIZED_HEADER_BYTES) {
      throw malformed(`it has ${bytes.length} bytes, fewer than the ${SERIALIZED_HEADER_BYTES}-byte header of leaf counts`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const leafCount = view.getBigUint64(0);
    const flushedCount = view.getBigUint64(8);
    if (leafCount + flushedCount > BigInt(TREE_LEAVES_MAX)) {
      throw malformed(`it claims ${leafCount} leaves after ${flushedCount} flushed ones, more than ${TREE_LEAVES_MAX}`);
    }
    const leaves = Number(leafCount);
    const flushed = Number(flushedCount);
    const extras = popCount(flushed);
    const expected = SERIALIZED_HEADER_BYTES + (leaves + extras) * HASH_BYTES;
    if (bytes.length !== expected) {
      throw malformed(
        `it has ${bytes.length} bytes, but ${leaves} leaves and ${extras} left-edge hashes ` +
          `(for ${flushed} flushed leaves) take ${expected}`,
      );
    }
    const tree = new MerkleTree();
    tree.#flushed = flushed;
    tree.#size = flushed;
    let offset = SERIALIZED_HEADER_BYTES + leaves * HASH_BYTES;
    for (let k = 0, rest = flushed; rest > 0; k++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1) {
        pushNode(tree.#level(k), bytes.subarray(offset, offset + HASH_BYTES));
        offset += HASH_BYTES;
      }
    }
    for (let i = 0; i < leaves; i++) {
      const start = SERIALIZED_HEADER_BYTES + i * HASH_BYTES;
      tree.append(bytes.subarray(start, start + HASH_BYTES));
    }
    return tree;
  }

  static rootFromProof(leaf: Uint8Array, proof: readonly ProofStep[]): Uint8Array {
    checkHash(leaf, 'leaf');
    let acc: Uint8Array = leaf.slice();
    proof.forEach((step, i) => {
      if ('left' in step) {
        checkHash(step.left, `proof[${i}].left`);
        acc = hashPair(step.left, acc);
      } else {
        checkHash(step.right, `proof[${i}].right`);
        acc = hashPair(acc, step.right);
      }
    });
    return acc;
  }

  static verifyProof(leaf: Uint8Array, proof: readonly ProofStep[], root: Uint8Array): boolean {
    return equalBytes(MerkleTree.rootFromProof(leaf, proof), root);
  }

  #level(k: number): Level {
    for (let j = this.#levels.length; j <= k; j++) {
      this.#levels.push({ base: baseFor(j, this.#flushed), count: 0, hashes: new Uint8Array(LEVEL_NODES_INITIAL * HASH_BYTES) });
    }
    return this.#levels[k] as Level;
  }

  /** A view of stored node `index` of level `k`. */
  #node(k: number, index: number): Uint8Array {
    const level = this.#levels[k];
    invariant(level !== undefined && index >= level.base && index < level.base + level.count, `node ${index} of level ${k} is held`);
    const offset = (index - level.base) * HASH_BYTES;
    return level.hashes.subarray(offset, offset + HASH_BYTES);
  }

  /** H(node ‖ acc), or a copy of the node when there is nothing to its right yet. */
  #prepend(k: number, index: number, acc: Uint8Array | undefined): Uint8Array {
    const node = this.#node(k, index);
    if (acc === undefined) return node.slice();
    this.#pair.set(node, 0);
    this.#pair.set(acc, HASH_BYTES);
    return sha256(this.#pair);
  }

  #checkSize(size: number): void {
    if (this.#size === 0) throw new CocoError('MerkleTreeOutOfRange', 'the tree is empty: append a leaf first');
    if (!Number.isSafeInteger(size) || size < Math.max(this.#flushed, 1) || size > this.#size) {
      throw new CocoError(
        'MerkleTreeOutOfRange',
        `no root for ${size} leaves: the tree has ${this.#size} leaves, ${this.#flushed} of them flushed`,
      );
    }
  }

  #checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < this.#flushed || index >= size) {
      throw new CocoError(
        'MerkleTreeOutOfRange',
        `leaf ${index} is not available: leaves ${this.#flushed} to ${size - 1} are (earlier ones were flushed)`,
      );
    }
  }
}

/** The first node held at level k once `flushed` leaves are gone: the pair holding the left-edge subtree. */
function baseFor(k: number, flushed: number): number {
  return 2 * Math.floor(flushed / 2 ** (k + 1));
}

function pushNode(level: Level, hash: Uint8Array): void {
  const offset = level.count * HASH_BYTES;
  if (offset + HASH_BYTES > level.hashes.length) {
    const grown = new Uint8Array(level.hashes.length * 2);
    grown.set(level.hashes.subarray(0, offset));
    level.hashes = grown;
  }
  level.hashes.set(hash, offset);
  level.count++;
}

function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(left, right));
}

function checkHash(hash: unknown, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) {
    throw new CocoError('InvalidArgument', `${what} must be a ${HASH_BYTES}-byte hash`);
  }
}

function popCount(value: number): number {
  let count = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

function malformed(reason: string): CocoError {
  return new CocoError('MerkleTreeMalformed', `serialized Merkle tree is malformed: ${reason}`);
}
