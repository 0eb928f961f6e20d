// UVM endorsements as Confidential ACI hands them out (the Azure Privacy Sandbox KMS's sample: a
// Milan report, its VCEK chain, and Microsoft's COSE Sign1 endorsement of the utility VM; see
// test/fixtures/snp/README.md), verified as CCF verifies them, and each check shown to refuse.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { fromBase64, fromHex } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { verifySnpReport } from '../../src/attestation/snp-report.js';
import { DEFAULT_UVM_ROOTS_OF_TRUST, verifyUvmEndorsements } from '../../src/attestation/uvm-endorsements.js';
import { repoRoot } from '../support/paths.js';

const fixture = (name: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'snp', name), 'utf8');
const uvm = fromBase64(fixture('kms-uvm-endorsements.cose.base64').replace(/\s/g, ''));
const report = verifySnpReport(fromHex(fixture('kms-report.hex')), fixture('kms-endorsements.pem'), { at: new Date('2026-06-01T00:00:00Z'), endorsedTcbHex: '0300000000000873' });
const ACI_DID = 'did:x509:0:sha256:I__iuL25oXEVFdTP_aBLx_eT1RPHbCQ_ECBQfYZpt9s::eku:1.3.6.1.4.1.311.76.59.1.2';

const cbor = { decoder: new Decoder({ mapsAsObjects: false, useRecords: false }), encoder: new Encoder({ mapsAsObjects: false, useRecords: false, tagUint8Array: false }) };

function refused(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CocoError && error.code === 'UvmEndorsementsInvalid' && pattern.test(error.message);
}

/** The endorsement with its protected header changed by `edit` (its signature then no longer covers it). */
function withProtectedHeader(edit: (header: Map<number | string, unknown>) => void): Uint8Array {
  const [protectedBytes, unprotected, payload, signature] = (cbor.decoder.decode(uvm) as Tag).value as [Uint8Array, unknown, Uint8Array, Uint8Array];
  const header = cbor.decoder.decode(protectedBytes) as Map<number | string, unknown>;
  edit(header);
  return cbor.encoder.encode(new Tag([cbor.encoder.encode(header), unprotected, payload, signature], 18));
}

test("a version 2 report from Confidential ACI verifies as Milan's, with its endorsed TCB", () => {
  assert.equal(report.version, 2);
  assert.deepEqual(report.reported_tcb, { boot_loader: 3, tee: 0, snp: 8, microcode: 115 });
});

test("Microsoft's UVM endorsement of the report's launch measurement verifies against CCF's roots of trust", () => {
  assert.deepEqual(verifyUvmEndorsements(uvm, report.measurement), { did: ACI_DID, feed: 'ContainerPlat-AMD-UVM', svn: '100' });
});

test('the endorsement must name the attested measurement, and meet a root of trust (issuer, feed, at least its SVN)', () => {
  const other = fromHex(fixture('milan-report.hex')).slice(0x90, 0xc0);
  assert.throws(() => verifyUvmEndorsements(uvm, other), refused(/^Launch measurement in UVM endorsements payload 02c3b0d5.* is not equal to UVM attestation measurement 5feee30d/));
  const [aci] = DEFAULT_UVM_ROOTS_OF_TRUST;
  assert.throws(() => verifyUvmEndorsements(uvm, report.measurement, [{ ...aci!, svn: '101' }]), refused(/did .*, feed ContainerPlat-AMD-UVM, svn 100 do not match any of the known UVM roots of trust/));
  assert.throws(() => verifyUvmEndorsements(uvm, report.measurement, [{ ...aci!, feed: 'ConfAKS-AMD-UVM' }]), refused(/do not match any of the known UVM roots of trust/));
  assert.throws(() => verifyUvmEndorsements(uvm, report.measurement, [DEFAULT_UVM_ROOTS_OF_TRUST[1]!]), refused(/do not match/), "AKS's root (another EKU) does not take ACI's UVM");
  assert.deepEqual(verifyUvmEndorsements(uvm, report.measurement, [{ ...aci!, svn: '99' }]).svn, '100', 'an SVN above the minimum, compared as numbers');
});

test('a changed signature, payload or protected header is refused', () => {
  const signatureChanged = uvm.slice();
  signatureChanged[signatureChanged.length - 1] = uvm.at(-1)! ^ 1;
  assert.throws(() => verifyUvmEndorsements(signatureChanged, report.measurement), refused(/^Signature verification failed$/));
  assert.throws(() => verifyUvmEndorsements(withProtectedHeader((h) => h.set('feed', 'ConfAKS-AMD-UVM')), report.measurement), refused(/^Signature verification failed$/));
  assert.throws(() => verifyUvmEndorsements(withProtectedHeader((h) => h.set(3, 'text/plain')), report.measurement), refused(/^Signature verification failed$/));
  assert.throws(() => verifyUvmEndorsements(withProtectedHeader((h) => h.set(1, -8)), report.measurement), refused(/^Signature algorithm -8 is not one of expected: RSA, ECDSA$/));
  assert.throws(() => verifyUvmEndorsements(withProtectedHeader((h) => h.set(1, -35)), report.measurement), refused(/^Signature verification failed$/), 'ES384 named for an RSA signer');
  assert.throws(() => verifyUvmEndorsements(withProtectedHeader((h) => h.delete('iss')), report.measurement), refused(/"iss" must be a text string/));
  assert.throws(() => verifyUvmEndorsements(withProtectedHeader((h) => h.delete(33)), report.measurement), refused(/x5chain \(33\)/));
});

test('the issuer DID must resolve against the signer\'s chain: the CA fingerprint, the leaf\'s extended key usage, the chain itself', () => {
  const fingerprint = withProtectedHeader((h) => h.set('iss', ACI_DID.replace('I__iu', 'X__iu')));
  assert.throws(() => verifyUvmEndorsements(fingerprint, report.measurement), refused(/does not resolve against the certificate chain: no CA certificate of the chain has the sha256 fingerprint X__iu/));
  const eku = withProtectedHeader((h) => h.set('iss', ACI_DID.replace('76.59.1.2', '76.59.1.9')));
  assert.throws(() => verifyUvmEndorsements(eku, report.measurement), refused(/the leaf certificate has no extended key usage 1\.3\.6\.1\.4\.1\.311\.76\.59\.1\.9/));
  const reordered = withProtectedHeader((h) => h.set(33, [...(h.get(33) as Uint8Array[])].reverse()));
  assert.throws(() => verifyUvmEndorsements(reordered, report.measurement), refused(/certificate 0 is not issued by certificate 1/));
  const leafOnly = withProtectedHeader((h) => h.set(33, (h.get(33) as Uint8Array[])[0]));
  assert.throws(() => verifyUvmEndorsements(leafOnly, report.measurement), refused(/the chain holds 1 certificate/));
});

test('what is not a tagged COSE Sign1 is refused', () => {
  assert.throws(() => verifyUvmEndorsements(new Uint8Array([1, 2, 3]), report.measurement), refused(/not a tagged COSE Sign1/));
  const untagged = cbor.encoder.encode((cbor.decoder.decode(uvm) as Tag).value);
  assert.throws(() => verifyUvmEndorsements(untagged, report.measurement), refused(/not a tagged COSE Sign1/));
});
