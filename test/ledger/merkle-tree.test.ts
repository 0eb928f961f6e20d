// Specification of the Merkle history tree: roots and proofs against a naive level-by-level
// reference, rollback, flushing, CCF's compact serialization (checked byte for byte against the
// `public:ccf.internal.tree` values of real CCF ledgers) and rejection of malformed input.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { concatBytes, fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { CocoError } from '../../src/errors.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { EntryType, type LedgerEntry } from '../../src/ledger/entry.js';
import { MerkleTree, type ProofStep } from '../../src/ledger/merkle-tree.js';

const LEDGERS_DIR = new URL('../../../../shared/ccf-ledgers/', import.meta.url);

function leafOf(i: number): Uint8Array {
  return sha256(utf8(`leaf ${i}`));
}

function treeOf(size: number): MerkleTree {
  const tree = new MerkleTree();
  for (let i = 0; i < size; i++) tree.append(leafOf(i));
  return tree;
}

/** The reference: pair nodes left to right, promote an odd last node, recurse on the next level. */
function naiveRoot(level: Uint8Array[]): Uint8Array {
  if (level.length === 1) return level[0] as Uint8Array;
  return naiveRoot(pairUp(level));
}

function pairUp(level: Uint8Array[]): Uint8Array[] {
  const next: Uint8Array[] = [];
  for (let i = 0; i < level.length; i += 2) {
    const left = level[i] as Uint8Array;
    const right = level[i + 1];
    next.push(right === undefined ? left : sha256(concatBytes(left, right)));
  }
  return next;
}

function naiveProof(leaves: Uint8Array[], index: number): ProofStep[] {
  const steps: ProofStep[] = [];
  let level = leaves;
  for (let i = index; level.length > 1; i = Math.floor(i / 2)) {
    const sibling = level[i ^ 1];
    if (sibling !== undefined) steps.push(i % 2 === 1 ? { left: sibling } : { right: sibling });
    level = pairUp(level);
  }
  return steps;
}

function leavesOf(size: number): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => leafOf(i));
}

function flipped(bytes: Uint8Array, at = 0): Uint8Array {
  const copy = bytes.slice();
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
}

function throwsCode(fn: () => unknown, code: string, message?: string): void {
  assert.throws(fn, (error: unknown) => error instanceof CocoError && error.code === code, message);
}

describe('MerkleTree roots', () => {
  it('equal the naive reference for every size from 1 to 70', () => {
    const tree = new MerkleTree();
    for (let size = 1; size <= 70; size++) {
      tree.append(leafOf(size - 1));
      assert.equal(tree.size, size);
      assert.deepEqual(tree.root(), naiveRoot(leavesOf(size)), `size ${size}`);
    }
  });

  it('of past sizes (rootAt) equal the roots the tree had then', () => {
    const tree = treeOf(70);
    for (let size = 1; size <= 70; size++) {
      assert.deepEqual(tree.rootAt(size), naiveRoot(leavesOf(size)), `size ${size}`);
    }
  });

  it('of one leaf is the leaf itself, and of two is H(left ‖ right)', () => {
    assert.deepEqual(treeOf(1).root(), leafOf(0));
    assert.deepEqual(treeOf(2).root(), sha256(concatBytes(leafOf(0), leafOf(1))));
  });

  it('promote an odd last node instead of duplicating it', () => {
    const [a, b, c] = leavesOf(3) as [Uint8Array, Uint8Array, Uint8Array];
    assert.deepEqual(treeOf(3).root(), sha256(concatBytes(sha256(concatBytes(a, b)), c)));
  });

  it('are refused for an empty tree or a size the tree never had', () => {
    throwsCode(() => new MerkleTree().root(), 'MerkleTreeOutOfRange');
    const tree = treeOf(5);
    for (const size of [0, 6, -1, 2.5, Number.NaN]) throwsCode(() => tree.rootAt(size), 'MerkleTreeOutOfRange');
  });

  it('are returned as copies that callers cannot use to corrupt the tree', () => {
    const tree = treeOf(1);
    tree.root().fill(0);
    tree.leaf(0).fill(0);
    tree.proof(0);
    assert.deepEqual(tree.root(), leafOf(0));
  });
});

describe('MerkleTree appends', () => {
  it('accept only 32-byte leaves', () => {
    const tree = new MerkleTree();
    for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint8Array(0)]) {
      throwsCode(() => tree.append(bad), 'InvalidArgument');
    }
    throwsCode(() => tree.append('00'.repeat(32) as unknown as Uint8Array), 'InvalidArgument');
    assert.equal(tree.size, 0);
  });

  it('keep each leaf readable by index', () => {
    const tree = treeOf(9);
    for (let i = 0; i < 9; i++) assert.deepEqual(tree.leaf(i), leafOf(i));
    throwsCode(() => tree.leaf(9), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.leaf(-1), 'MerkleTreeOutOfRange');
  });

  it('grow past the initial level capacity without changing results', () => {
    const size = 5000;
    assert.deepEqual(treeOf(size).root(), naiveRoot(leavesOf(size)));
  });
});

describe('MerkleTree proofs', () => {
  it('equal the naive reference and verify for every index of every size up to 40', () => {
    for (let size = 1; size <= 40; size++) {
      const leaves = leavesOf(size);
      const tree = treeOf(size);
      const root = tree.root();
      for (let index = 0; index < size; index++) {
        const proof = tree.proof(index);
        assert.deepEqual(proof, naiveProof(leaves, index), `size ${size} index ${index}`);
        assert.ok(MerkleTree.verifyProof(leafOf(index), proof, root), `size ${size} index ${index}`);
        assert.deepEqual(MerkleTree.rootFromProof(leafOf(index), proof), root);
      }
    }
  });

  it('for a past size (proofAt) equal the proofs of a tree that stopped at that size', () => {
    const tree = treeOf(45);
    for (let size = 1; size <= 45; size++) {
      const past = treeOf(size);
      for (let index = 0; index < size; index++) {
        assert.deepEqual(tree.proofAt(index, size), past.proof(index), `size ${size} index ${index}`);
      }
    }
  });

  it('fail when any step, direction, the leaf or the root is altered', () => {
    const tree = treeOf(23);
    const root = tree.root();
    for (const index of [0, 6, 15, 16, 21, 22]) {
      const proof = tree.proof(index);
      const leaf = leafOf(index);
      assert.ok(MerkleTree.verifyProof(leaf, proof, root));
      assert.equal(MerkleTree.verifyProof(flipped(leaf), proof, root), false);
      assert.equal(MerkleTree.verifyProof(leaf, proof, flipped(root, 31)), false);
      proof.forEach((step, s) => {
        const hash = 'left' in step ? step.left : step.right;
        const altered = proof.map((other, o) =>
          o !== s ? other : 'left' in step ? { left: flipped(hash, s % 32) } : { right: flipped(hash, s % 32) },
        );
        assert.equal(MerkleTree.verifyProof(leaf, altered, root), false, `index ${index} step ${s} altered`);
        const swapped = proof.map((other, o) => (o !== s ? other : 'left' in step ? { right: hash } : { left: hash }));
        assert.equal(MerkleTree.verifyProof(leaf, swapped, root), false, `index ${index} step ${s} direction`);
      });
      assert.equal(MerkleTree.verifyProof(leaf, proof.slice(1), root), false, 'a step dropped');
    }
  });

  it('reject hashes that are not 32 bytes', () => {
    throwsCode(() => MerkleTree.rootFromProof(new Uint8Array(31), []), 'InvalidArgument');
    throwsCode(() => MerkleTree.rootFromProof(leafOf(0), [{ left: new Uint8Array(33) }]), 'InvalidArgument');
  });

  it('are refused for an index outside the tree of that size', () => {
    const tree = treeOf(10);
    throwsCode(() => tree.proof(10), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.proofAt(5, 5), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.proofAt(0, 11), 'MerkleTreeOutOfRange');
  });
});

describe('MerkleTree truncate', () => {
  it('then append gives the same tree as building afresh', () => {
    for (const [built, kept, total] of [
      [70, 33, 70],
      [64, 63, 80],
      [17, 1, 20],
      [5, 5, 9],
      [9, 0, 4],
    ] as const) {
      const tree = treeOf(built);
      tree.truncate(kept);
      assert.equal(tree.size, kept);
      for (let i = kept; i < total; i++) tree.append(leafOf(i));
      const fresh = treeOf(total);
      assert.deepEqual(tree.root(), fresh.root(), `${built} → ${kept} → ${total}`);
      assert.deepEqual(tree.serialize(), fresh.serialize());
      for (let i = 0; i < total; i++) assert.deepEqual(tree.proof(i), fresh.proof(i));
    }
  });

  it('to more leaves than the tree holds, or below the flushed prefix, is refused', () => {
    const tree = treeOf(10);
    throwsCode(() => tree.truncate(11), 'MerkleTreeOutOfRange');
    tree.flush(6);
    throwsCode(() => tree.truncate(5), 'MerkleTreeOutOfRange');
    tree.truncate(6);
    assert.deepEqual(tree.root(), treeOf(6).root());
  });
});

describe('MerkleTree flush', () => {
  it('keeps roots, proofs and appends right for every leaf from the flush point on', () => {
    for (const at of [0, 1, 2, 7, 8, 19, 32, 33]) {
      const tree = treeOf(40);
      tree.flush(at);
      assert.equal(tree.flushed, at);
      const reference = treeOf(50);
      for (let size = Math.max(at, 1); size <= 40; size++) {
        assert.deepEqual(tree.rootAt(size), reference.rootAt(size), `flushed ${at}, size ${size}`);
      }
      for (let index = at; index < 40; index++) {
        assert.deepEqual(tree.proof(index), reference.proofAt(index, 40), `flushed ${at}, index ${index}`);
      }
      for (let i = 40; i < 50; i++) tree.append(leafOf(i));
      assert.deepEqual(tree.root(), reference.root());
    }
  });

  it('makes earlier leaves, roots and proofs unavailable', () => {
    const tree = treeOf(20);
    tree.flush(12);
    throwsCode(() => tree.leaf(11), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.proof(11), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.rootAt(11), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.flush(11), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.flush(21), 'MerkleTreeOutOfRange');
  });
});

describe('MerkleTree serialization (CCF format)', () => {
  it('writes big-endian leaf counts, the leaves, then one left-edge hash per set bit of the start', () => {
    const tree = treeOf(26);
    const bytes = tree.serialize(19, 26);
    const view = new DataView(bytes.buffer);
    assert.equal(view.getBigUint64(0), 7n);
    assert.equal(view.getBigUint64(8), 19n);
    assert.equal(bytes.length, 16 + (7 + 3) * 32);
    assert.deepEqual(bytes.subarray(16, 48), leafOf(19));
    const perfect = (from: number, count: number): Uint8Array => naiveRoot(leavesOf(from + count).slice(from));
    assert.deepEqual(bytes.subarray(16 + 7 * 32), concatBytes(leafOf(18), perfect(16, 2), perfect(0, 16)));
  });

  it('of an empty tree is two zero counts', () => {
    assert.deepEqual(new MerkleTree().serialize(), new Uint8Array(16));
    assert.equal(MerkleTree.deserialize(new Uint8Array(16)).size, 0);
  });

  it('round-trips: the rebuilt tree has the same size, root, proofs and serialization', () => {
    for (const [size, from] of [
      [1, 0],
      [2, 0],
      [26, 19],
      [64, 63],
      [64, 64],
      [70, 0],
      [70, 37],
    ] as const) {
      const tree = treeOf(size);
      const bytes = tree.serialize(from, size);
      const rebuilt = MerkleTree.deserialize(bytes);
      assert.equal(rebuilt.size, size);
      assert.equal(rebuilt.flushed, from);
      assert.deepEqual(rebuilt.root(), tree.root(), `size ${size} from ${from}`);
      assert.deepEqual(rebuilt.serialize(), bytes);
      for (let index = from; index < size; index++) assert.deepEqual(rebuilt.proof(index), tree.proof(index));
      rebuilt.append(leafOf(size));
      tree.append(leafOf(size));
      assert.deepEqual(rebuilt.root(), tree.root(), 'appends continue the same tree');
    }
  });

  it('of a past size serializes the tree as it was then', () => {
    const tree = treeOf(30);
    assert.deepEqual(tree.serialize(3, 17), treeOf(17).serialize(3, 17));
    assert.deepEqual(MerkleTree.deserialize(tree.serialize(3, 17)).root(), tree.rootAt(17));
  });

  it('of a flushed tree starts at the flush point by default', () => {
    const tree = treeOf(30);
    tree.flush(11);
    assert.deepEqual(tree.serialize(), treeOf(30).serialize(11, 30));
    throwsCode(() => tree.serialize(10, 30), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.serialize(12, 31), 'MerkleTreeOutOfRange');
    throwsCode(() => tree.serialize(20, 19), 'MerkleTreeOutOfRange');
  });

  it('rejects malformed input with MerkleTreeMalformed', () => {
    const good = treeOf(26).serialize(19, 26);
    const withCounts = (leaves: bigint, flushed: bigint): Uint8Array => {
      const copy = good.slice();
      const view = new DataView(copy.buffer);
      view.setBigUint64(0, leaves);
      view.setBigUint64(8, flushed);
      return copy;
    };
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array(0)],
      ['truncated header', good.subarray(0, 15)],
      ['truncated hashes', good.subarray(0, good.length - 1)],
      ['a missing hash', good.subarray(0, good.length - 32)],
      ['a trailing byte', concatBytes(good, new Uint8Array(1))],
      ['leaf count too high', withCounts(8n, 19n)],
      ['leaf count too low', withCounts(6n, 19n)],
      ['flushed count with other bits', withCounts(7n, 20n)],
      ['little-endian counts', withCounts(7n << 56n, 19n << 56n)],
      ['counts past 2^53', withCounts(2n ** 63n, 2n ** 63n)],
    ];
    for (const [name, bytes] of cases) throwsCode(() => MerkleTree.deserialize(bytes), 'MerkleTreeMalformed', name);
  });
});

interface LedgerSignature {
  seqno: number;
  root: string;
  tree: Uint8Array;
}

/** Leaf rule of ccf-compat.md §4: SHA-256 of the entry, then of it with the digests its type carries. */
function entryLeaf(entry: LedgerEntry): Uint8Array {
  const writeSetDigest = sha256(entry.raw);
  if (entry.entryType === EntryType.WriteSet) return writeSetDigest;
  const parts = [writeSetDigest, entry.commitEvidenceDigest, entry.claimsDigest].filter((p) => p !== undefined);
  return sha256(concatBytes(...parts));
}

function readLedger(name: string): { leaves: Uint8Array[]; signatures: LedgerSignature[] } {
  const dir = new URL(`${name}/`, LEDGERS_DIR);
  const files = readdirSync(dir).sort((a, b) => parseInt(a.slice(7), 10) - parseInt(b.slice(7), 10));
  const leaves: Uint8Array[] = [new Uint8Array(32)];
  const signatures: LedgerSignature[] = [];
  for (const file of files) {
    for (const entry of decodeChunk(new Uint8Array(readFileSync(new URL(file, dir))), file).entries) {
      assert.equal(entry.txId.seqno, leaves.length, 'leaf index = seqno');
      const write = (map: string) => entry.publicMaps.find((m) => m.name === map)?.writes[0]?.value;
      const tree = write('public:ccf.internal.tree');
      const signature = write('public:ccf.internal.signatures');
      if (tree !== undefined && signature !== undefined) {
        const { root } = JSON.parse(fromUtf8(signature)) as { root: string };
        signatures.push({ seqno: entry.txId.seqno, root, tree });
      }
      leaves.push(entryLeaf(entry));
    }
  }
  return { leaves, signatures };
}

describe('MerkleTree against real CCF ledgers', () => {
  for (const ledger of ['genesis-14', 'expired-service']) {
    it(`${ledger}: each signature's tree value holds leaves 0..seqno-1 and deserializes to the signed root`, () => {
      const { signatures } = readLedger(ledger);
      assert.ok(signatures.length >= 6);
      for (const signature of signatures) {
        const tree = MerkleTree.deserialize(signature.tree);
        assert.equal(tree.size, signature.seqno, 'the tree excludes the signature transaction itself');
        assert.equal(toHex(tree.root()), signature.root, `signature at ${signature.seqno}`);
      }
    });

    it(`${ledger}: a tree built from the entries serializes to CCF's exact bytes, starting at the previous signature`, () => {
      const { leaves, signatures } = readLedger(ledger);
      const tree = new MerkleTree();
      for (const leaf of leaves) tree.append(leaf);
      let previous = 0;
      for (const signature of signatures) {
        assert.equal(toHex(tree.rootAt(signature.seqno)), signature.root);
        assert.deepEqual(tree.serialize(previous, signature.seqno), signature.tree, `signature at ${signature.seqno}`);
        previous = signature.seqno;
      }
    });
  }
});
