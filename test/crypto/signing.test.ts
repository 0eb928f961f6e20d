import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash, createPrivateKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { concatBytes, fromBase64, fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { sha256, sha384 } from '../../src/crypto/hash.js';
import { pemToDer } from '../../src/crypto/pem.js';
import {
  curveOf,
  derSignatureToP1363,
  generateKeyPair,
  p1363SignatureToDer,
  publicKeyDer,
  sign,
  signDigest,
  verify,
  verifyDigest,
  type CurveName,
  type SignatureFormat,
} from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { openssl, withTempFiles } from '../support/openssl.js';
import { readLedgerChunk, signatureRecords } from '../support/ccf-ledger-scan.js';

const CURVES: CurveName[] = ['P-256', 'P-384', 'P-521', 'Ed25519'];
const sha512 = (data: Uint8Array) => new Uint8Array(createHash('sha512').update(data).digest());
const ECDSA_CURVES = [
  { curve: 'P-256' as const, hash: 'sha256', digest: sha256, noble: p256, scalarBytes: 32 },
  { curve: 'P-384' as const, hash: 'sha384', digest: sha384, noble: p384, scalarBytes: 48 },
  { curve: 'P-521' as const, hash: 'sha512', digest: sha512, noble: p521, scalarBytes: 66 },
];
const FORMATS: SignatureFormat[] = ['der', 'ieee-p1363'];
const MESSAGE = utf8('a ledger entry');

const keyPairs = Object.fromEntries(CURVES.map((curve) => [curve, generateKeyPair(curve)])) as Record<CurveName, ReturnType<typeof generateKeyPair>>;

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('generateKeyPair / curveOf / publicKeyDer', () => {
  it('generates PKCS#8 private and SPKI public key PEM of the requested curve', () => {
    for (const curve of CURVES) {
      const { privateKeyPem, publicKeyPem } = keyPairs[curve];
      assert.ok(pemToDer(privateKeyPem, 'PRIVATE KEY').length > 0, curve);
      assert.ok(pemToDer(publicKeyPem, 'PUBLIC KEY').length > 0, curve);
      assert.equal(curveOf(privateKeyPem), curve);
      assert.equal(curveOf(publicKeyPem), curve);
    }
    assert.notEqual(generateKeyPair('P-256').privateKeyPem, generateKeyPair('P-256').privateKeyPem);
  });

  it('finds the same curve and SPKI DER in a private key, its public key and its certificate', async () => {
    for (const curve of CURVES) {
      const keyPair = keyPairs[curve];
      const certPem = await createSelfSignedCertificate({ subjectCn: 'k', keyPair, validFrom: new Date(), validityDays: 1, isCa: false });
      const spki = pemToDer(keyPair.publicKeyPem, 'PUBLIC KEY');
      assert.equal(curveOf(certPem), curve);
      for (const pem of [keyPair.privateKeyPem, keyPair.publicKeyPem, certPem]) assert.deepEqual(publicKeyDer(pem), spki, curve);
    }
  });

  it('reads a SEC1 "EC PRIVATE KEY" PEM as OpenSSL writes it', () => {
    const sec1 = createPrivateKey(keyPairs['P-384'].privateKeyPem).export({ type: 'sec1', format: 'pem' }).toString();
    assert.equal(curveOf(sec1), 'P-384');
    assert.ok(verify(keyPairs['P-384'].publicKeyPem, MESSAGE, sign(sec1, MESSAGE)));
  });

  it('rejects unparseable and unsupported keys with InvalidKey', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const truncated = keyPairs['P-256'].publicKeyPem.slice(0, 60);
    for (const [name, pem] of [['garbage', 'not a key'], ['truncated', truncated], ['RSA', rsa], ['secp256k1', secp256k1]]) {
      assert.throws(() => curveOf(pem!), { name: 'CocoError', code: 'InvalidKey' }, name);
      assert.throws(() => publicKeyDer(pem!), { name: 'CocoError', code: 'InvalidKey' }, name);
      assert.throws(() => verify(pem!, MESSAGE, new Uint8Array(64)), { name: 'CocoError', code: 'InvalidKey' }, name);
    }
    assert.throws(() => sign(keyPairs['P-256'].publicKeyPem, MESSAGE), { name: 'CocoError', code: 'InvalidKey' });
    assert.throws(() => generateKeyPair('P-192' as CurveName), { name: 'CocoError', code: 'InvalidKey' });
  });
});

describe('sign / verify', () => {
  it('round-trips on every curve and signature format', () => {
    for (const curve of CURVES) {
      for (const format of FORMATS) {
        const { privateKeyPem, publicKeyPem } = keyPairs[curve];
        const signature = sign(privateKeyPem, MESSAGE, format);
        assert.equal(Object.getPrototypeOf(signature), Uint8Array.prototype);
        assert.equal(verify(publicKeyPem, MESSAGE, signature, format), true, `${curve} ${format}`);
        assert.equal(verify(privateKeyPem, MESSAGE, signature, format), true, `${curve} ${format} with private key`);
      }
    }
  });

  it('hashes with SHA-256 for P-256, SHA-384 for P-384 and SHA-512 for P-521 (ES256 / ES384 / ES512), as node:crypto checks', () => {
    for (const { curve, hash } of ECDSA_CURVES) {
      const { privateKeyPem, publicKeyPem } = keyPairs[curve];
      assert.equal(nodeVerify(hash, MESSAGE, publicKeyPem, sign(privateKeyPem, MESSAGE)), true, curve);
      assert.equal(verify(publicKeyPem, MESSAGE, nodeSign(hash, MESSAGE, privateKeyPem)), true, curve);
    }
    const ed = keyPairs.Ed25519;
    assert.equal(nodeVerify(null, MESSAGE, ed.publicKeyPem, sign(ed.privateKeyPem, MESSAGE)), true);
  });

  it('produces P1363 signatures of exactly two scalars', () => {
    assert.equal(sign(keyPairs['P-256'].privateKeyPem, MESSAGE, 'ieee-p1363').length, 64);
    assert.equal(sign(keyPairs['P-384'].privateKeyPem, MESSAGE, 'ieee-p1363').length, 96);
    assert.equal(sign(keyPairs['P-521'].privateKeyPem, MESSAGE, 'ieee-p1363').length, 132);
    assert.equal(sign(keyPairs.Ed25519.privateKeyPem, MESSAGE).length, 64);
  });

  it('verifies with a certificate PEM', async () => {
    const keyPair = keyPairs['P-384'];
    const certPem = await createSelfSignedCertificate({ subjectCn: 'n', keyPair, validFrom: new Date(), validityDays: 1, isCa: false });
    assert.equal(verify(certPem, MESSAGE, sign(keyPair.privateKeyPem, MESSAGE)), true);
  });

  it('returns false, never throws, for wrong or malformed signatures', () => {
    for (const curve of CURVES) {
      for (const format of FORMATS) {
        const { privateKeyPem, publicKeyPem } = keyPairs[curve];
        const signature = sign(privateKeyPem, MESSAGE, format);
        const other = generateKeyPair(curve);
        const cases: [string, Uint8Array, Uint8Array, string][] = [
          ['tampered message', flip(MESSAGE, 0), signature, publicKeyPem],
          ['tampered signature', MESSAGE, flip(signature, signature.length - 1), publicKeyPem],
          ['truncated signature', MESSAGE, signature.subarray(0, signature.length - 1), publicKeyPem],
          ['extended signature', MESSAGE, concatBytes(signature, Uint8Array.of(0)), publicKeyPem],
          ['empty signature', MESSAGE, new Uint8Array(0), publicKeyPem],
          ['zero signature', MESSAGE, new Uint8Array(signature.length), publicKeyPem],
          ['wrong key', MESSAGE, signature, other.publicKeyPem],
        ];
        for (const [name, data, sig, key] of cases) {
          assert.equal(verify(key, data, sig, format), false, `${curve} ${format}: ${name}`);
        }
      }
    }
  });

  it('does not accept a signature in the other ECDSA encoding', () => {
    const { privateKeyPem, publicKeyPem } = keyPairs['P-256'];
    assert.equal(verify(publicKeyPem, MESSAGE, sign(privateKeyPem, MESSAGE, 'der'), 'ieee-p1363'), false);
    assert.equal(verify(publicKeyPem, MESSAGE, sign(privateKeyPem, MESSAGE, 'ieee-p1363'), 'der'), false);
  });

  it('rejects an unknown signature format with InvalidArgument', () => {
    const { privateKeyPem, publicKeyPem } = keyPairs['P-256'];
    const format = 'raw' as SignatureFormat;
    assert.throws(() => sign(privateKeyPem, MESSAGE, format), { name: 'CocoError', code: 'InvalidArgument' });
    assert.throws(() => verify(publicKeyPem, MESSAGE, new Uint8Array(64), format), { name: 'CocoError', code: 'InvalidArgument' });
    assert.throws(() => verifyDigest(publicKeyPem, sha256(MESSAGE), new Uint8Array(64), format), { name: 'CocoError', code: 'InvalidArgument' });
  });
});

describe('signDigest / verifyDigest (pre-hashed ECDSA, as CCF signs the Merkle root)', () => {
  it('verifies node:crypto (OpenSSL) signatures of the message whose hash is the digest', () => {
    for (const { curve, hash, digest } of ECDSA_CURVES) {
      const { privateKeyPem, publicKeyPem } = keyPairs[curve];
      for (const format of FORMATS) {
        const signature = nodeSign(hash, MESSAGE, { key: privateKeyPem, dsaEncoding: format });
        assert.equal(verifyDigest(publicKeyPem, digest(MESSAGE), signature, format), true, `${curve} ${format}`);
        assert.equal(verifyDigest(publicKeyPem, digest(flip(MESSAGE, 0)), signature, format), false, `${curve} ${format}`);
      }
    }
  });

  it('signs digests that node:crypto verifies as signatures over the hashed message', () => {
    for (const { curve, hash, digest } of ECDSA_CURVES) {
      const { privateKeyPem, publicKeyPem } = keyPairs[curve];
      for (const format of FORMATS) {
        const signature = signDigest(privateKeyPem, digest(MESSAGE), format);
        assert.equal(nodeVerify(hash, MESSAGE, { key: publicKeyPem, dsaEncoding: format }, signature), true, `${curve} ${format}`);
        assert.equal(verifyDigest(publicKeyPem, digest(MESSAGE), signature, format), true, `${curve} ${format}`);
      }
    }
  });

  it('signs a 32-byte digest with a P-384 key (CCF\'s case) and round-trips', () => {
    const { privateKeyPem, publicKeyPem } = keyPairs['P-384'];
    const root = sha256(utf8('merkle root'));
    const signature = signDigest(privateKeyPem, root);
    assert.equal(signature[0], 0x30);
    assert.equal(verifyDigest(publicKeyPem, root, signature), true);
    assert.equal(verifyDigest(publicKeyPem, flip(root, 31), signature), false);
    assert.equal(verifyDigest(publicKeyPem, sha384(utf8('merkle root')), signature), false);
  });

  it('interoperates with openssl pkeyutl for a 32-byte digest and a P-384 key, both ways', () => {
    const { privateKeyPem, publicKeyPem } = keyPairs['P-384'];
    const root = sha256(utf8('merkle root'));
    withTempFiles({ 'pub.pem': publicKeyPem, 'key.pem': privateKeyPem, 'root.bin': root, 'sig.der': signDigest(privateKeyPem, root) }, (dir) => {
      const ours = openssl(['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-in', 'root.bin', '-sigfile', 'sig.der'], dir);
      assert.equal(ours.status, 0, ours.stderr);
      assert.match(ours.stdout, /Signature Verified Successfully/);
      const theirs = openssl(['pkeyutl', '-sign', '-inkey', 'key.pem', '-in', 'root.bin', '-out', 'openssl-sig.der'], dir);
      assert.equal(theirs.status, 0, theirs.stderr);
      assert.equal(verifyDigest(publicKeyPem, root, readFileSync(join(dir, 'openssl-sig.der'))), true);
    });
  });

  it('accepts high-S signatures, as OpenSSL does, in both encodings', () => {
    for (const { curve, hash, digest, noble, scalarBytes } of ECDSA_CURVES) {
      const { privateKeyPem, publicKeyPem } = keyPairs[curve];
      const raw = derSignatureToP1363(signDigest(privateKeyPem, digest(MESSAGE)), curve);
      const s = BigInt(`0x${toHex(raw.subarray(scalarBytes))}`);
      const highS = fromHex((noble.Point.Fn.ORDER - s).toString(16).padStart(2 * scalarBytes, '0'));
      const mirrored = concatBytes(raw.subarray(0, scalarBytes), highS);
      assert.equal(verifyDigest(publicKeyPem, digest(MESSAGE), mirrored, 'ieee-p1363'), true, curve);
      assert.equal(verifyDigest(publicKeyPem, digest(MESSAGE), p1363SignatureToDer(mirrored, curve)), true, curve);
      assert.equal(nodeVerify(hash, MESSAGE, publicKeyPem, p1363SignatureToDer(mirrored, curve)), true, curve);
    }
  });

  it('verifies the Merkle root signatures of a real CCF ledger', () => {
    const records = signatureRecords(readLedgerChunk('genesis-14/ledger_1-14.committed'));
    assert.equal(records.length, 6);
    for (const record of records) {
      assert.equal(curveOf(record.cert), 'P-384');
      const root = fromHex(record.root);
      const signature = fromBase64(record.sig);
      assert.equal(verifyDigest(record.cert, root, signature), true, `seqno ${record.seqno}`);
      assert.equal(verifyDigest(record.cert, flip(root, 0), signature), false, `seqno ${record.seqno}`);
      assert.equal(verify(record.cert, root, signature), false, 'the root must not be hashed again');
    }
  });

  it('stays correct once a hot key switches to precomputed verification', () => {
    const { privateKeyPem, publicKeyPem } = keyPairs['P-256'];
    for (let i = 0; i < 12; i++) {
      const digest = sha256(utf8(`root ${i}`));
      const signature = signDigest(privateKeyPem, digest);
      assert.equal(verifyDigest(publicKeyPem, digest, signature), true, `round ${i}`);
      assert.equal(verifyDigest(publicKeyPem, flip(digest, i), signature), false, `round ${i}`);
    }
  });

  it('returns false, never throws, for wrong or malformed signatures', () => {
    const { privateKeyPem, publicKeyPem } = keyPairs['P-384'];
    const digest = sha256(MESSAGE);
    const der = signDigest(privateKeyPem, digest);
    const raw = derSignatureToP1363(der, 'P-384');
    const cases: [string, Uint8Array, SignatureFormat, string][] = [
      ['tampered DER', flip(der, der.length - 1), 'der', publicKeyPem],
      ['truncated DER', der.subarray(0, der.length - 1), 'der', publicKeyPem],
      ['DER with a trailing byte', concatBytes(der, Uint8Array.of(0)), 'der', publicKeyPem],
      ['empty', new Uint8Array(0), 'der', publicKeyPem],
      ['not DER at all', utf8('signature'), 'der', publicKeyPem],
      ['r = s = 0', new Uint8Array(96), 'ieee-p1363', publicKeyPem],
      ['r and s above the group order', new Uint8Array(96).fill(0xff), 'ieee-p1363', publicKeyPem],
      ['P1363 of the wrong length', raw.subarray(0, 64), 'ieee-p1363', publicKeyPem],
      ['P1363 given as DER', raw, 'der', publicKeyPem],
      ['wrong key', der, 'der', generateKeyPair('P-384').publicKeyPem],
      ['key of another curve', der, 'der', keyPairs['P-256'].publicKeyPem],
    ];
    for (const [name, signature, format, key] of cases) {
      assert.equal(verifyDigest(key, digest, signature, format), false, name);
    }
  });

  it('rejects Ed25519 keys with InvalidKey and digests of implausible length with InvalidDigest', () => {
    const ed = keyPairs.Ed25519;
    assert.throws(() => signDigest(ed.privateKeyPem, sha256(MESSAGE)), { name: 'CocoError', code: 'InvalidKey' });
    assert.throws(() => verifyDigest(ed.publicKeyPem, sha256(MESSAGE), new Uint8Array(64)), { name: 'CocoError', code: 'InvalidKey' });
    const { privateKeyPem, publicKeyPem } = keyPairs['P-256'];
    for (const length of [0, 16, 31, 65]) {
      assert.throws(() => signDigest(privateKeyPem, new Uint8Array(length)), { name: 'CocoError', code: 'InvalidDigest' }, `${length}`);
      assert.throws(() => verifyDigest(publicKeyPem, new Uint8Array(length), new Uint8Array(64)), { name: 'CocoError', code: 'InvalidDigest' }, `${length}`);
    }
  });
});

describe('derSignatureToP1363 / p1363SignatureToDer', () => {
  it('convert between the encodings node:crypto produces', () => {
    for (const { curve, hash, scalarBytes } of ECDSA_CURVES) {
      const { privateKeyPem, publicKeyPem } = keyPairs[curve];
      const der = nodeSign(hash, MESSAGE, privateKeyPem);
      const raw = derSignatureToP1363(der, curve);
      assert.equal(raw.length, 2 * scalarBytes);
      assert.equal(nodeVerify(hash, MESSAGE, { key: publicKeyPem, dsaEncoding: 'ieee-p1363' }, raw), true, curve);
      assert.deepEqual(p1363SignatureToDer(raw, curve), new Uint8Array(der));
    }
  });

  it('pass Ed25519 signatures through unchanged', () => {
    const signature = sign(keyPairs.Ed25519.privateKeyPem, MESSAGE);
    assert.deepEqual(derSignatureToP1363(signature, 'Ed25519'), signature);
    assert.deepEqual(p1363SignatureToDer(signature, 'Ed25519'), signature);
  });

  it('reject malformed signatures with InvalidSignature', () => {
    const der = sign(keyPairs['P-256'].privateKeyPem, MESSAGE);
    const raw = derSignatureToP1363(der, 'P-256');
    const cases: [string, () => Uint8Array][] = [
      ['truncated DER', () => derSignatureToP1363(der.subarray(0, der.length - 2), 'P-256')],
      ['DER for the wrong curve size', () => p1363SignatureToDer(raw, 'P-384')],
      ['raw of the wrong length', () => p1363SignatureToDer(raw.subarray(1), 'P-256')],
      ['zero scalars', () => p1363SignatureToDer(new Uint8Array(64), 'P-256')],
      ['short Ed25519 signature', () => derSignatureToP1363(new Uint8Array(63), 'Ed25519')],
    ];
    for (const [name, convert] of cases) {
      assert.throws(convert, { name: 'CocoError', code: 'InvalidSignature' }, name);
    }
  });
});
