import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { buildCoseReceipt, COSE_VERIFIABLE_DATA_PROOFS, isCoseReceipt, verifyCoseReceipt } from '../../src/ledger/cose-receipt.js';
import { writeSetDigest } from '../../src/ledger/leaf.js';
import { COSE_SIGNATURES_MAP, decodeCoseSignatureValue, singletonWrite } from '../../src/ledger/signature.js';
import { createServiceIdentity, generateLedger } from '../support/generated-ledger.js';
import { cborTags } from '../support/cbor-tags.js';
import { realChunks } from '../support/real-ledgers.js';
import { decodeCoseSign1 } from '../../src/crypto/cose-sign1.js';

const generated = generateLedger({ transactions: 20, signatureInterval: 6, privateValueBytes: 8 });
const entries = generated.chunks.flatMap((c) => decodeChunk(c.bytes, c.name).entries);
const signatureSeqnos = entries.filter((e) => singletonWrite(e.publicMaps, COSE_SIGNATURES_MAP) !== undefined).map((e) => e.txId.seqno);

function receiptFor(seqno: number): Uint8Array {
  const signatureSeqno = signatureSeqnos.find((s) => s > seqno)!;
  const signatureEntry = entries[signatureSeqno - 1]!;
  const entry = entries[seqno - 1]!;
  return buildCoseReceipt({
    signatureCose: decodeCoseSignatureValue(singletonWrite(signatureEntry.publicMaps, COSE_SIGNATURES_MAP)!),
    proof: generated.writer.tree.proofAt(seqno, signatureSeqno),
    writeSetDigest: writeSetDigest(entry),
    commitEvidence: generated.commitEvidence.get(seqno)!,
    claimsDigest: entry.claimsDigest!,
  });
}

test('COSE receipts of every application transaction verify against the service certificate', () => {
  let verified = 0;
  for (const entry of entries) {
    const seqno = entry.txId.seqno;
    if (signatureSeqnos.includes(seqno) || seqno > signatureSeqnos.at(-1)!) continue;
    const receipt = receiptFor(seqno);
    assert.ok(isCoseReceipt(receipt));
    assert.equal(verifyCoseReceipt(receipt, generated.identity.serviceCertPem).txId, `2.${seqno}`);
    verified += 1;
  }
  assert.ok(verified >= 18);
});

test('a COSE receipt fails for another service, and when any byte of its proof or signature changes', () => {
  const receipt = receiptFor(3);
  const other = createServiceIdentity();
  assert.throws(() => verifyCoseReceipt(receipt, other.serviceCertPem), (e: unknown) => e instanceof CocoError);
  let rejected = 0;
  for (let i = 20; i < receipt.length; i += 7) {
    const altered = receipt.slice();
    altered[i]! ^= 0x01;
    try {
      verifyCoseReceipt(altered, generated.identity.serviceCertPem);
    } catch (error) {
      assert.ok(error instanceof CocoError, String(error));
      rejected += 1;
    }
  }
  assert.equal(rejected, Math.ceil((receipt.length - 20) / 7));
});

test("the ledger's COSE signatures and the receipts hold plain byte strings, tagged only as COSE_Sign1, like a real CCF service's", () => {
  const coseSignatures = (chunks: { bytes: Uint8Array; name: string }[]) => chunks
    .flatMap((c) => decodeChunk(c.bytes, c.name).entries)
    .map((e) => singletonWrite(e.publicMaps, COSE_SIGNATURES_MAP))
    .filter((value) => value !== undefined)
    .map((value) => decodeCoseSignatureValue(value));
  const ccf = coseSignatures(realChunks('genesis-14'));
  assert.ok(ccf.length > 0);
  const coco = coseSignatures(generated.chunks);
  for (const signature of [...ccf, ...coco]) {
    assert.deepEqual(cborTags(signature), [18]);
    assert.deepEqual(cborTags(decodeCoseSign1(signature).protectedBytes), []);
  }
  const receipt = receiptFor(3);
  assert.deepEqual(cborTags(receipt), [18], 'CCF\'s tools (cbor2, t_cose) refuse tag 64 where its CDDL says bstr');
  const proofs = decodeCoseSign1(receipt).unprotectedHeader.get(COSE_VERIFIABLE_DATA_PROOFS) as Map<number, Uint8Array[]>;
  assert.deepEqual(cborTags(proofs.get(-1)![0]!), []);
});
