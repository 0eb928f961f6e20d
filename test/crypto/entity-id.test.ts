import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { derToPem, pemToDer } from '../../src/crypto/pem.js';
import { certificateId, publicKeyId } from '../../src/crypto/entity-id.js';
import { generateKeyPair, type KeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { pemTableEntries, readLedgerChunk, signatureRecords } from '../support/ccf-ledger-scan.js';
import { openssl, withTempFiles } from '../support/openssl.js';

const ENTITY_ID = /^[0-9a-f]{64}$/;

async function certificateFor(keyPair: KeyPair): Promise<string> {
  return createSelfSignedCertificate({ subjectCn: 'member0', keyPair, validFrom: new Date(), validityDays: 1, isCa: false });
}

describe('certificateId', () => {
  it('equals openssl\'s SHA-256 fingerprint, lowercased without colons', async () => {
    for (const curve of ['P-256', 'P-384', 'Ed25519'] as const) {
      const pem = await certificateFor(generateKeyPair(curve));
      const id = certificateId(pem);
      assert.match(id, ENTITY_ID);
      withTempFiles({ 'cert.pem': pem }, (dir) => {
        const result = openssl(['x509', '-in', 'cert.pem', '-noout', '-fingerprint', '-sha256'], dir);
        assert.equal(result.status, 0, result.stderr);
        const fingerprint = result.stdout.trim().replace(/^.*Fingerprint=/i, '').replaceAll(':', '').toLowerCase();
        assert.equal(id, fingerprint, curve);
      });
    }
  });

  it('is the same for PEM and DER of one certificate, and differs between certificates', async () => {
    const keyPair = generateKeyPair('P-256');
    const pem = await certificateFor(keyPair);
    assert.equal(certificateId(pemToDer(pem)), certificateId(pem));
    assert.notEqual(certificateId(await certificateFor(keyPair)), certificateId(pem), 'same key, new certificate, new ID');
  });

  it('matches the member IDs that CCF recorded in public:ccf.gov.members.certs', () => {
    const members = pemTableEntries(readLedgerChunk('genesis-14/ledger_1-14.committed'), 'public:ccf.gov.members.certs');
    assert.ok(members.length >= 1);
    for (const { key, pem } of members) assert.equal(certificateId(pem), key);
  });

  it('rejects what is not a certificate with InvalidCertificate', async () => {
    const keyPair = generateKeyPair('P-256');
    const der = pemToDer(await certificateFor(keyPair));
    for (const input of ['hello', keyPair.publicKeyPem, der.subarray(0, 50), derToPem(der.subarray(2), 'CERTIFICATE')]) {
      assert.throws(() => certificateId(input), { name: 'CocoError', code: 'InvalidCertificate' });
    }
  });
});

describe('publicKeyId', () => {
  it('is the SHA-256 of the SPKI DER, whether given a key, a private key, a certificate, PEM or DER', async () => {
    const keyPair = generateKeyPair('P-384');
    const certPem = await certificateFor(keyPair);
    const spkiDer = pemToDer(keyPair.publicKeyPem, 'PUBLIC KEY');
    const expected = createHash('sha256').update(spkiDer).digest('hex');
    for (const input of [keyPair.publicKeyPem, keyPair.privateKeyPem, certPem, spkiDer, pemToDer(certPem)]) {
      assert.equal(publicKeyId(input), expected);
    }
    assert.notEqual(publicKeyId(certPem), certificateId(certPem));
  });

  it('equals SHA-256 over the DER public key that openssl extracts from the certificate', async () => {
    const certPem = await certificateFor(generateKeyPair('P-256'));
    withTempFiles({ 'cert.pem': certPem }, (dir) => {
      const extracted = openssl(['x509', '-in', 'cert.pem', '-noout', '-pubkey'], dir);
      assert.equal(extracted.status, 0, extracted.stderr);
      const spki = pemToDer(extracted.stdout, 'PUBLIC KEY');
      assert.equal(publicKeyId(certPem), createHash('sha256').update(spki).digest('hex'));
    });
  });

  it('matches the node IDs that CCF recorded for endorsed node certificates and signatures', () => {
    const chunk = readLedgerChunk('genesis-14/ledger_1-14.committed');
    const endorsed = pemTableEntries(chunk, 'public:ccf.gov.nodes.endorsed_certificates');
    assert.ok(endorsed.length >= 1);
    for (const { key, pem } of endorsed) assert.equal(publicKeyId(pem), key);
    for (const record of signatureRecords(chunk)) assert.equal(publicKeyId(record.cert), record.node);
  });

  it('rejects bytes that are neither SPKI nor a certificate with InvalidKey', () => {
    const spki = pemToDer(generateKeyPair('P-256').publicKeyPem);
    for (const input of [new Uint8Array(0), spki.subarray(0, spki.length - 1), Uint8Array.of(0x30, 0x00)]) {
      assert.throws(() => publicKeyId(input), { name: 'CocoError', code: 'InvalidKey' });
    }
    assert.throws(() => publicKeyId('not a key'), { name: 'CocoError', code: 'InvalidKey' });
  });
});
