import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import test from 'node:test';
import { publicKeyId } from '../../src/crypto/entity-id.js';
import { CocoError } from '../../src/errors.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { COSE_VERIFIABLE_DATA_PROOFS, isCoseReceipt, verifyCoseReceipt } from '../../src/ledger/cose-receipt.js';
import { COSE_CWT_CLAIMS, COSE_SIGNATURES_MAP, CWT_IAT, CWT_ISS, CWT_SUB, decodeCoseSignatureValue, singletonWrite } from '../../src/ledger/signature.js';
import { createServiceIdentity, generateLedger } from '../support/generated-ledger.js';
import { cborTags } from '../support/cbor-tags.js';
import { realChunks } from '../support/real-ledgers.js';
import { coseReceiptsOf } from './cose-receipt-fixture.js';
import { decodeCbor, decodeCoseSign1, encodeCbor, encodeCoseSign1 } from '../../src/crypto/cose-sign1.js';

const generated = generateLedger({ transactions: 20, signatureInterval: 6, privateValueBytes: 8 });
const { entries, signatureSeqnos, receiptFor } = coseReceiptsOf(generated);

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

test("a COSE receipt judged at an instant outside the service certificate's validity fails, as a JSON receipt's certificates do, unless dates are ignored", () => {
  const receipt = receiptFor(3);
  const serviceCert = generated.identity.serviceCertPem;
  const { validFrom, validTo } = new X509Certificate(serviceCert);
  assert.equal(verifyCoseReceipt(receipt, serviceCert, { at: new Date(Date.parse(validFrom) + 1000) }).txId, '2.3');
  for (const at of [new Date(Date.parse(validTo) + 1000), new Date(Date.parse(validFrom) - 1000)]) {
    assert.throws(() => verifyCoseReceipt(receipt, serviceCert, { at }), (error) => {
      assert.ok(error instanceof CocoError && error.code === 'ReceiptInvalid');
      assert.match(error.message, /is not valid at .*verify it with 'ignore-validity' \(coco receipt verify --ignore-validity\)/);
      return true;
    });
  }
  assert.equal(verifyCoseReceipt(receipt, serviceCert, { at: 'ignore-validity' }).txId, '2.3');
});

test('a COSE receipt fails for another service, and when any byte of its proof or signature changes', () => {
  const receipt = receiptFor(3);
  const other = createServiceIdentity();
  // Signed by the other key its kid names, as a receipt from before a disaster recovery is: said so.
  assert.throws(() => verifyCoseReceipt(receipt, other.serviceCertPem), {
    name: 'CocoError',
    code: 'ReceiptInvalid',
    message: new RegExp(`^the service signature does not verify over the root the inclusion proof proves: it names another service key \\(kid ${publicKeyId(generated.identity.serviceCertPem)}\\) than the certificate's \\(${publicKeyId(other.serviceCertPem)}\\)\\. .*GET /node/service/previous_identity`),
  });
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

test("the COSE signatures' CWT claims hold iat, iss and sub in CCF's order, as a real CCF ledger's do: empty by default, as in CCF, and the service's cose_signatures when set; its receipts carry them", () => {
  const cwtOf = (cose: Uint8Array) => decodeCoseSign1(cose).protectedHeader.get(COSE_CWT_CLAIMS) as Map<number, unknown>;
  const signaturesOf = (chunks: { bytes: Uint8Array; name: string }[]) => chunks
    .flatMap((c) => decodeChunk(c.bytes, c.name).entries)
    .map((e) => singletonWrite(e.publicMaps, COSE_SIGNATURES_MAP))
    .filter((value) => value !== undefined)
    .map((value) => decodeCoseSignatureValue(value));
  const ccf = cwtOf(signaturesOf(realChunks('genesis-14'))[0]!);
  assert.deepEqual([...ccf.keys()], [CWT_IAT, CWT_ISS, CWT_SUB]);
  const unset = cwtOf(signaturesOf(generated.chunks)[0]!);
  assert.deepEqual([...unset.keys()], [...ccf.keys()]);
  assert.deepEqual([unset.get(CWT_ISS), unset.get(CWT_SUB)], ['', '']);
  const configured = generateLedger({ transactions: 4, signatureInterval: 2, signatureClaims: { issuer: 'ledger.example.com', subject: 'scitt.ccf.signature.v1' } });
  const claims = cwtOf(signaturesOf(configured.chunks)[0]!);
  assert.deepEqual([claims.get(CWT_ISS), claims.get(CWT_SUB)], ['ledger.example.com', 'scitt.ccf.signature.v1']);
  const receipt = coseReceiptsOf(configured).receiptFor(1);
  assert.deepEqual(cwtOf(receipt), claims, 'the receipt is the signature, with its proof');
  verifyCoseReceipt(receipt, configured.identity.serviceCertPem);
});

/** `receipt` with its list of inclusion proofs (unprotected header 396, key -1) replaced by `proofs`. */
function withProofs(receipt: Uint8Array, proofs: Uint8Array[]): Uint8Array {
  const message = decodeCoseSign1(receipt);
  const unprotected = new Map(message.unprotectedHeader);
  unprotected.set(COSE_VERIFIABLE_DATA_PROOFS, new Map([[-1, proofs]]));
  return encodeCoseSign1({ ...message, unprotectedHeader: unprotected });
}

function proofsOf(receipt: Uint8Array): Uint8Array[] {
  return (decodeCoseSign1(receipt).unprotectedHeader.get(COSE_VERIFIABLE_DATA_PROOFS) as Map<number, Uint8Array[]>).get(-1)!;
}

test('a COSE receipt verifies only if every one of its inclusion proofs does, as CCF checks them all; none is refused', () => {
  const [valid] = proofsOf(receiptFor(3));
  // A made-up proof: another transaction, its own claims, the same path (so another root).
  const madeUp = decodeCbor(valid!, 'proof') as Map<number, unknown[]>;
  const leaf = madeUp.get(1)!;
  madeUp.set(1, [leaf[0], `ce:2.777:${'ab'.repeat(32)}`, new Uint8Array(32).fill(0xee)]);
  const forged = encodeCbor(madeUp);
  const serviceCert = generated.identity.serviceCertPem;
  for (const [name, proofs, failing] of [['valid then forged', [valid!, forged], 2], ['forged then valid', [forged, valid!], 1]] as const) {
    assert.throws(
      () => verifyCoseReceipt(withProofs(receiptFor(3), [...proofs]), serviceCert),
      (e: unknown) => e instanceof CocoError && e.code === 'ReceiptInvalid' && e.message.includes(`inclusion proof ${failing} of 2`),
      name,
    );
    // Nor does a claims digest only the made-up proof has make it pass.
    assert.throws(() => verifyCoseReceipt(withProofs(receiptFor(3), [...proofs]), serviceCert, { claimsDigest: new Uint8Array(32).fill(0xee) }), CocoError, name);
  }
  assert.throws(
    () => verifyCoseReceipt(withProofs(receiptFor(3), []), serviceCert),
    (e: unknown) => e instanceof CocoError && e.code === 'ReceiptMalformed' && /no inclusion proof/.test(e.message),
  );
  // Several valid proofs under one signature: each transaction is named.
  const [other] = proofsOf(receiptFor(4));
  const both = verifyCoseReceipt(withProofs(receiptFor(3), [valid!, other!, valid!]), serviceCert);
  assert.equal(both.txId, '2.3');
  assert.deepEqual(both.txIds, ['2.3', '2.4', '2.3']);
});
