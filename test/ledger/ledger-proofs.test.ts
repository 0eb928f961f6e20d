import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { GENESIS_PLACEHOLDER_LEAF, leafOf, writeSetDigest } from '../../src/ledger/leaf.js';
import { MerkleTree, type ProofStep } from '../../src/ledger/merkle-tree.js';
import { buildReceipt, buildSignatureReceipt, verifyReceipt } from '../../src/ledger/receipt.js';
import { decodePrimarySignature, SIGNATURES_MAP, singletonWrite } from '../../src/ledger/signature.js';
import { generateLedger } from '../support/generated-ledger.js';
import { REAL_LEDGERS, realChunks } from '../support/real-ledgers.js';

function alter(proof: ProofStep[], index: number): ProofStep[] {
  return proof.map((step, i) => {
    if (i !== index) return step;
    const hash = ('left' in step ? step.left : step.right).slice();
    hash[0]! ^= 1;
    return 'left' in step ? { left: hash } : { right: hash };
  });
}

for (const ledger of REAL_LEDGERS) {
  test(`${ledger}: a Merkle proof for every seqno reaches the root CCF signed after it, and no altered proof does`, () => {
    const entries = realChunks(ledger).flatMap((chunk) => chunk.decoded.entries);
    const tree = new MerkleTree();
    tree.append(GENESIS_PLACEHOLDER_LEAF);
    let proven = 0;
    for (const entry of entries) {
      const signature = singletonWrite(entry.publicMaps, SIGNATURES_MAP);
      if (signature !== undefined) {
        const signedRoot = decodePrimarySignature(signature).root;
        const size = entry.txId.seqno;
        for (let seqno = 1; seqno < size; seqno++) {
          const proof = tree.proofAt(seqno, size);
          assert.ok(MerkleTree.verifyProof(tree.leaf(seqno), proof, signedRoot), `seqno ${seqno} under the signature at ${size}`);
          if (proof.length > 0) assert.ok(!MerkleTree.verifyProof(tree.leaf(seqno), alter(proof, seqno % proof.length), signedRoot));
          proven += 1;
        }
      }
      tree.append(leafOf(entry));
    }
    assert.ok(proven > entries.length, `${proven} proofs checked`);
  });
}

test('receipts for every transaction of a Coco ledger verify offline against the service certificate', () => {
  const generated = generateLedger({ transactions: 30, signatureInterval: 7, privateValueBytes: 16 });
  const entries = generated.chunks.flatMap((c) => decodeChunk(c.bytes, c.name).entries);
  const tree = generated.writer.tree;
  const { identity } = generated;
  const signatures = entries.filter((e) => singletonWrite(e.publicMaps, SIGNATURES_MAP) !== undefined);
  let verified = 0;
  for (const entry of entries) {
    const seqno = entry.txId.seqno;
    // The receipt of a transaction is proven by the first signature after it.
    const signatureEntry = signatures.find((s) => s.txId.seqno > seqno);
    if (signatureEntry === undefined) continue;
    const signature = decodePrimarySignature(singletonWrite(signatureEntry.publicMaps, SIGNATURES_MAP)!);
    const signer = { signatureDer: signature.signatureDer, nodeId: identity.nodeId, certPem: identity.nodeCertPem };
    const receipt = buildReceipt({
      ...signer,
      proof: tree.proofAt(seqno, signatureEntry.txId.seqno),
      writeSetDigest: writeSetDigest(entry),
      commitEvidence: generated.commitEvidence.get(seqno)!,
      claimsDigest: entry.claimsDigest!,
    });
    const result = verifyReceipt(JSON.parse(JSON.stringify(receipt)), identity.serviceCertPem, { at: 'ignore-validity' });
    assert.equal(result.txId, `2.${seqno}`);
    const forged = { ...receipt, leaf_components: { ...receipt.leaf_components, commit_evidence: generated.commitEvidence.get(seqno === 1 ? 2 : 1)! } };
    assert.throws(() => verifyReceipt(forged, identity.serviceCertPem, { at: 'ignore-validity' }), (e: unknown) => e instanceof CocoError && e.code === 'ReceiptInvalid');
    verified += 1;
  }
  assert.ok(verified >= 30);
  const last = signatures.at(-1)!;
  const lastSignature = decodePrimarySignature(singletonWrite(last.publicMaps, SIGNATURES_MAP)!);
  const signatureReceipt = buildSignatureReceipt({ root: lastSignature.root, signatureDer: lastSignature.signatureDer, nodeId: identity.nodeId, certPem: identity.nodeCertPem });
  assert.deepEqual(verifyReceipt(signatureReceipt, identity.serviceCertPem, { at: 'ignore-validity' }).root, lastSignature.root);
});
