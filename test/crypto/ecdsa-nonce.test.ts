// Signing with a prepared nonce must give ordinary ECDSA signatures: verified by OpenSSL over the
// hashed message and by openssl pkeyutl over a bare digest, low-S, one nonce per signature, and
// no nonce path for a nonce of another curve or a key passed as PEM.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, verify as nodeVerify } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import type { ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { decodeCoseSign1, signCoseSign1, verifyCoseSign1 } from '../../src/crypto/cose-sign1.js';
import { createEcdsaNonce, signWithNonce, type EcdsaCurve } from '../../src/crypto/ecdsa-nonce.js';
import { sha256 } from '../../src/crypto/hash.js';
import { generateKeyPair, loadPrivateKey, sign, signDigest, verifyDigest } from '../../src/crypto/signing.js';
import { openssl, withTempFiles } from '../support/openssl.js';

const NOBLE: Record<EcdsaCurve, ECDSA> = { 'P-256': p256, 'P-384': p384, 'P-521': p521 };
const CURVES: { curve: EcdsaCurve; hash: 'sha256' | 'sha384' | 'sha512'; signatureBytes: number }[] = [
  { curve: 'P-256', hash: 'sha256', signatureBytes: 64 },
  { curve: 'P-384', hash: 'sha384', signatureBytes: 96 },
  { curve: 'P-521', hash: 'sha512', signatureBytes: 132 },
];
const MESSAGE = utf8('a signature transaction');

function sOf(der: Uint8Array, curve: EcdsaCurve): bigint {
  return NOBLE[curve].Signature.fromBytes(der, 'der').s;
}

describe('ECDSA with a prepared nonce', () => {
  for (const { curve, hash, signatureBytes } of CURVES) {
    const order = NOBLE[curve].Point.Fn.ORDER;
    const pair = generateKeyPair(curve);
    const key = loadPrivateKey(pair.privateKeyPem);

    it(`${curve}: sign() with a nonce verifies with OpenSSL over the message, in both encodings`, () => {
      for (const format of ['der', 'ieee-p1363'] as const) {
        const nonce = createEcdsaNonce(curve);
        const signature = sign(key, MESSAGE, format, nonce);
        if (format === 'ieee-p1363') assert.equal(signature.length, signatureBytes);
        assert.equal(nodeVerify(hash, MESSAGE, { key: pair.publicKeyPem, dsaEncoding: format }, signature), true);
        assert.equal(nodeVerify(hash, utf8('another message'), { key: pair.publicKeyPem, dsaEncoding: format }, signature), false);
      }
    });

    it(`${curve}: signDigest() with a nonce verifies as a pre-hashed signature, with ours and openssl pkeyutl`, () => {
      const root = sha256(MESSAGE);
      const signature = signDigest(key, root, 'der', createEcdsaNonce(curve));
      assert.equal(verifyDigest(pair.publicKeyPem, root, signature), true);
      withTempFiles({ 'pub.pem': pair.publicKeyPem, 'root.bin': root, 'sig.der': signature }, (dir) => {
        const result = openssl(['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-in', 'root.bin', '-sigfile', 'sig.der'], dir);
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /Signature Verified Successfully/);
      });
    });

    it(`${curve}: signatures are low-S and take their r from the nonce, a new nonce giving a new signature`, () => {
      for (let i = 0; i < 16; i++) {
        const nonce = createEcdsaNonce(curve);
        const signature = signDigest(key, sha256(MESSAGE), 'der', nonce);
        assert.ok(sOf(signature, curve) <= order >> 1n, 'low S');
        assert.equal(NOBLE[curve].Signature.fromBytes(signature, 'der').r, nonce.r);
      }
      const a = signDigest(key, sha256(MESSAGE), 'der', createEcdsaNonce(curve));
      const b = signDigest(key, sha256(MESSAGE), 'der', createEcdsaNonce(curve));
      assert.notDeepEqual(a, b);
    });

    it(`${curve}: without a prepared nonce, signDigest makes one (a key loaded once, or a PEM): low-S, verified by openssl pkeyutl, a new signature each time`, () => {
      const root = sha256(MESSAGE);
      const signatures = [...Array.from({ length: 8 }, () => signDigest(key, root)), signDigest(pair.privateKeyPem, root)];
      for (const signature of signatures) {
        assert.equal(verifyDigest(pair.publicKeyPem, root, signature), true);
        assert.ok(sOf(signature, curve) <= order >> 1n, 'low S');
      }
      assert.equal(new Set(signatures.map((signature) => Buffer.from(signature).toString('hex'))).size, signatures.length, 'a fresh nonce each time');
      withTempFiles({ 'pub.pem': pair.publicKeyPem, 'root.bin': root, 'sig.der': signatures[0]! }, (dir) => {
        const result = openssl(['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-in', 'root.bin', '-sigfile', 'sig.der'], dir);
        assert.equal(result.status, 0, result.stderr);
      });
    });

    it(`${curve}: a COSE Sign1 signed with a nonce verifies`, () => {
      const cose = signCoseSign1({ privateKey: key, payload: MESSAGE, nonce: createEcdsaNonce(curve) });
      assert.equal(verifyCoseSign1(decodeCoseSign1(cose), pair.publicKeyPem), true);
    });
  }

  it('a nonce of another curve is not used: the key signs whole', () => {
    const pair = generateKeyPair('P-384');
    const key = loadPrivateKey(pair.privateKeyPem);
    const foreign = createEcdsaNonce('P-256');
    const signature = signDigest(key, sha256(MESSAGE), 'der', foreign);
    assert.equal(verifyDigest(pair.publicKeyPem, sha256(MESSAGE), signature), true);
    assert.notEqual(p384.Signature.fromBytes(signature, 'der').r, foreign.r);
  });

  it('a key passed as PEM signs whole, whatever the nonce (its scalar is not kept)', () => {
    const pair = generateKeyPair('P-384');
    const nonce = createEcdsaNonce('P-384');
    const signature = signDigest(pair.privateKeyPem, sha256(MESSAGE), 'der', nonce);
    assert.notEqual(p384.Signature.fromBytes(signature, 'der').r, nonce.r);
    assert.equal(verifyDigest(pair.publicKeyPem, sha256(MESSAGE), signature), true);
  });

  it('signWithNonce refuses a private scalar out of range', () => {
    const nonce = createEcdsaNonce('P-256');
    assert.throws(() => signWithNonce(nonce, 0n, 1n), /out of range/);
    assert.throws(() => signWithNonce(nonce, p256.Point.Fn.ORDER, 1n), /out of range/);
  });

  it('the digest a COSE signature covers is SHA-384 of the Sig_structure for P-384 (what OpenSSL hashes)', () => {
    const pair = generateKeyPair('P-384');
    const key = loadPrivateKey(pair.privateKeyPem);
    const signature = sign(key, MESSAGE, 'der', createEcdsaNonce('P-384'));
    assert.equal(verifyDigest(pair.publicKeyPem, new Uint8Array(createHash('sha384').update(MESSAGE).digest()), signature), true);
  });
});
