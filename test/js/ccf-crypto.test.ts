import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  constants,
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  sign as nodeSign,
  verify as nodeVerify,
  X509Certificate,
} from 'node:crypto';
import { CocoError } from '../../src/errors.js';
import { derToPem, pemToDer, splitPemBundle } from '../../src/crypto/pem.js';
import type { JsValue } from '../../src/js/js-value.js';
import { generateKeyPair, type CurveName } from '../../src/crypto/signing.js';
import { createCsr, createSelfSignedCertificate, issueCertificate, parseCertificate } from '../../src/crypto/x509.js';
import { ecCertificate, rsaCertificate } from '../support/idp-certificate.js';
import { interpreterWith, testCall, text, TEST_LIMITS, TEST_UNTRUSTED_NOW_MS } from './js-test-host.js';
import { openssl, withTempFiles } from '../support/openssl.js';

const CRYPTO_APP = {
  '/c.js': `
    const c = ccf.crypto;
    export const digest = (alg, data) => c.digest(alg, data);
    export const sign = (alg, key, data) => c.sign(alg, key, data);
    export const verify = (alg, key, sig, data) => c.verifySignature(alg, key, sig, data);
    export const aes = (bits) => c.generateAesKey(bits);
    export const rsa = (bits, e) => c.generateRsaKeyPair(bits, e);
    export const ecdsa = (curve) => c.generateEcdsaKeyPair(curve);
    export const eddsa = (curve) => c.generateEddsaKeyPair(curve);
    export const wrap = (key, wrapping, params) => c.wrapKey(key, wrapping, params);
    export const unwrap = (key, unwrapping, params) => c.unwrapKey(key, unwrapping, params);
    export const bundle = (pem) => c.isValidX509CertBundle(pem);
    export const root = (pem) => c.isValidX509RootCACert(pem);
    export const chain = (pems, trusted) => c.isValidX509CertChain(pems, trusted);
    export const toJwk = (fn, pem, kid) => c[fn](pem, kid);
    export const toPem = (fn, jwk) => c[fn](jwk);
    export const wrapWithViewLabel = (key, wrapping) => c.wrapKey(key, wrapping, { name: 'RSA-OAEP', label: new Uint8Array([1, 2, 3]) });
  `,
  '/fail.js': `
    // What ccf.crypto[name](...args) throws, as [error name, message]; null when it returns.
    export const failure = (name, ...args) => {
      try {
        ccf.crypto[name](...args);
        return null;
      } catch (e) {
        return [e.name, e.message];
      }
    };
  `,
};

const { env, host } = testCall();
const js = await interpreterWith(CRYPTO_APP);
const rsaPair = js.call('/c.js', 'rsa', [2048], env) as { privateKey: string; publicKey: string };
test.after(() => js.dispose());

function jsError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof CocoError && error.code === 'JsException' && pattern.test(error.message));
}

const DATA = text('the quick brown fox');

/** What ccf.crypto[name](...args) throws in JS: [error name, message], or null if it returned. */
function failure(name: string, ...args: JsValue[]): [string, string] | null {
  return js.call('/fail.js', 'failure', [name, ...args], env) as [string, string] | null;
}

test('digest is SHA-256 of the bytes; other algorithms are refused', () => {
  assert.deepEqual(js.call('/c.js', 'digest', ['SHA-256', DATA], env), new Uint8Array(createHash('sha256').update(DATA).digest()));
  jsError(() => js.call('/c.js', 'digest', ['SHA-1', DATA], env), /RangeError: unsupported digest algorithm "SHA-1"/);
});

for (const [curve, hash, nodeHash] of [
  ['secp256r1', 'SHA-256', 'sha256'],
  ['secp384r1', 'SHA-384', 'sha384'],
  ['secp521r1', 'SHA-512', 'sha512'],
] as const) {
  test(`ECDSA on ${curve}: JS signatures (r||s, ${hash}) verify in node, node signatures (SHA-256, as CCF verifies) verify in JS`, () => {
    const pair = js.call('/c.js', 'ecdsa', [curve], env) as { privateKey: string; publicKey: string };
    assert.match(pair.privateKey, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(pair.publicKey, /^-----BEGIN PUBLIC KEY-----/);
    const signature = js.call('/c.js', 'sign', [{ name: 'ECDSA', hash }, pair.privateKey, DATA], env) as Uint8Array;
    assert.ok(nodeVerify(nodeHash, DATA, { key: pair.publicKey, dsaEncoding: 'ieee-p1363' }, signature));
    const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
    const nodeSignature = nodeSign('sha256', DATA, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(js.call('/c.js', 'verify', [algorithm, pair.publicKey, new Uint8Array(nodeSignature), DATA], env), true);
    const tampered = new Uint8Array(nodeSignature);
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    assert.equal(js.call('/c.js', 'verify', [algorithm, pair.publicKey, tampered, DATA], env), false);
    const nodeSignature384 = nodeSign('sha384', DATA, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(js.call('/c.js', 'verify', [algorithm, pair.publicKey, new Uint8Array(nodeSignature384), DATA], env), false, 'a SHA-384 signature checked as SHA-256');
  });
}

test('RSA-PSS: JS signatures verify in node and node signatures verify in JS', () => {
  const padding = constants.RSA_PKCS1_PSS_PADDING;
  const algorithm = { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 };
  const signature = js.call('/c.js', 'sign', [algorithm, rsaPair.privateKey, DATA], env) as Uint8Array;
  assert.ok(nodeVerify('sha256', DATA, { key: rsaPair.publicKey, padding, saltLength: 32 }, signature));
  const nodeSignature = nodeSign('sha256', DATA, { key: rsaPair.privateKey, padding, saltLength: 32 });
  assert.equal(js.call('/c.js', 'verify', [algorithm, rsaPair.publicKey, new Uint8Array(nodeSignature), DATA], env), true);
  assert.equal(js.call('/c.js', 'verify', [algorithm, rsaPair.publicKey, new Uint8Array(nodeSignature), text('x')], env), false);
});

test("as CCF's: verifySignature takes SHA-256 only, and neither sign nor verifySignature takes RSASSA-PKCS1-v1_5", () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const ecPublic = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signature384 = new Uint8Array(nodeSign('sha384', DATA, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' }));
  for (const hash of ['SHA-384', 'SHA-512']) {
    jsError(() => js.call('/c.js', 'verify', [{ name: 'ECDSA', hash }, ecPublic, signature384, DATA], env), new RegExp(`RangeError: Unsupported hash algorithm "${hash}" for ECDSA in verifySignature, supported: SHA-256$`));
    jsError(() => js.call('/c.js', 'verify', [{ name: 'RSA-PSS', hash }, rsaPair.publicKey, signature384, DATA], env), /RangeError: Unsupported hash algorithm .* supported: SHA-256$/);
  }
  const pkcs1 = new Uint8Array(nodeSign('sha256', DATA, rsaPair.privateKey));
  jsError(() => js.call('/c.js', 'verify', [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, rsaPair.publicKey, pkcs1, DATA], env), /RangeError: Unsupported signing algorithm "RSASSA-PKCS1-v1_5", supported: RSA-PSS, ECDSA, EdDSA$/);
  jsError(() => js.call('/c.js', 'verify', [{ name: 'HMAC', hash: 'SHA-256' }, rsaPair.publicKey, pkcs1, DATA], env), /RangeError: Unsupported signing algorithm "HMAC"/);
  jsError(() => js.call('/c.js', 'sign', [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, rsaPair.privateKey, DATA], env), /RangeError: Unsupported signing algorithm "RSASSA-PKCS1-v1_5", supported: RSA-PSS, ECDSA, EdDSA, HMAC$/);
  // The hash is checked before the algorithm, as in CCF.
  jsError(() => js.call('/c.js', 'verify', [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, rsaPair.publicKey, pkcs1, DATA], env), /RangeError: Unsupported hash algorithm "SHA-384"/);
});

test('EdDSA (curve25519): JS and node verify each other; as in CCF, a certificate is no EdDSA key (QA)', () => {
  const pair = js.call('/c.js', 'eddsa', ['curve25519'], env) as { privateKey: string; publicKey: string };
  assert.equal(createPublicKey(pair.publicKey).asymmetricKeyType, 'ed25519');
  const signature = js.call('/c.js', 'sign', [{ name: 'EdDSA' }, pair.privateKey, DATA], env) as Uint8Array;
  assert.ok(nodeVerify(null, DATA, pair.publicKey, signature));
  const keyPair = generateKeyPair('Ed25519');
  const cert = createSelfSignedCertificate({ subjectCn: 'ed', keyPair, validFrom: new Date(TEST_UNTRUSTED_NOW_MS), validityDays: 1, isCa: false });
  const nodeSignature = new Uint8Array(nodeSign(null, DATA, keyPair.privateKeyPem));
  assert.equal(js.call('/c.js', 'verify', [{ name: 'EdDSA' }, keyPair.publicKeyPem, nodeSignature, DATA], env), true);
  jsError(() => js.call('/c.js', 'verify', [{ name: 'EdDSA' }, cert, nodeSignature, DATA], env), /RangeError: Failed to verify EdDSA signature: expected a PEM public key \(-----BEGIN PUBLIC KEY-----, SPKI\)/);
  assert.equal((js.call('/c.js', 'eddsa', ['x25519'], env) as { publicKey: string }).publicKey.length > 0, true);
});

test('HMAC signs with the key string as bytes', () => {
  const mac = js.call('/c.js', 'sign', [{ name: 'HMAC', hash: 'SHA-384' }, 'shared secret', DATA], env);
  assert.deepEqual(mac, new Uint8Array(createHmac('sha384', 'shared secret').update(DATA).digest()));
});

test('signing refuses unknown algorithms, unknown hashes and keys of the wrong type', () => {
  jsError(() => js.call('/c.js', 'sign', [{ name: 'DSA', hash: 'SHA-256' }, rsaPair.privateKey, DATA], env), /RangeError: Unsupported signing algorithm "DSA"/);
  const ec = js.call('/c.js', 'ecdsa', ['secp256r1'], env) as { privateKey: string };
  jsError(() => js.call('/c.js', 'sign', [{ name: 'ECDSA', hash: 'MD5' }, ec.privateKey, DATA], env), /RangeError: Unsupported hash algorithm "MD5" for ECDSA in sign, supported: SHA-256, SHA-384, SHA-512/);
  jsError(() => js.call('/c.js', 'sign', [{ name: 'ECDSA' }, ec.privateKey, DATA], env), /RangeError: Unsupported hash algorithm undefined for ECDSA/);
  jsError(() => js.call('/c.js', 'sign', [{ name: 'ECDSA', hash: 'SHA-256' }, rsaPair.privateKey, DATA], env), /InternalError: Failed to sign: a rsa key cannot be used with ECDSA/);
  jsError(() => js.call('/c.js', 'verify', [{ name: 'RSA-PSS', hash: 'SHA-256' }, 'not a key', DATA, DATA], env), /InternalError: Failed to verify signature: expected a PEM public key \(-----BEGIN PUBLIC KEY-----, SPKI\)/);
  jsError(() => js.call('/c.js', 'sign', ['ECDSA', rsaPair.privateKey, DATA], env), /TypeError: sign: the algorithm must be an object/);
});

test('key generation checks sizes and curves: those of CCF, RSA moduli up to 4096 bits', () => {
  for (const bits of [128, 192, 256]) assert.equal((js.call('/c.js', 'aes', [bits], env) as Uint8Array).length, bits / 8);
  jsError(() => js.call('/c.js', 'aes', [100], env), /RangeError: invalid key size 100 for AES, supported: 128, 192, 256$/);
  // As CCF, which hands the size to OpenSSL: from its minimum of 512 bits, any whole number.
  for (const bits of [512, 1000, 1024]) {
    const pair = js.call('/c.js', 'rsa', [bits], env) as { privateKey: string };
    assert.equal(createPrivateKey(pair.privateKey).asymmetricKeyDetails?.modulusLength, bits);
  }
  // What OpenSSL refuses fails as CCF's call does (QA: these were RangeErrors); past Coco's bound, a RangeError.
  jsError(() => js.call('/c.js', 'rsa', [511], env), /InternalError: Failed to generate RSA key pair: an RSA modulus of 511 bits is too small/);
  jsError(() => js.call('/c.js', 'rsa', [2048, 4], env), /InternalError: Failed to generate RSA key pair: the RSA public exponent 4 is not an odd number/);
  jsError(() => js.call('/c.js', 'rsa', [8192], env), /RangeError: unsupported RSA modulus of 8192 bits/);
  jsError(() => js.call('/c.js', 'ecdsa', ['prime239v1'], env), /RangeError: Unsupported curve id "prime239v1" for ECDSA, supported: secp256r1, secp384r1, secp521r1$/);
  jsError(() => js.call('/c.js', 'ecdsa', ['secp256k1'], env), /RangeError: Unsupported curve id "secp256k1" for ECDSA/);
  jsError(() => js.call('/c.js', 'eddsa', ['ed448'], env), /RangeError: Unsupported curve id "ed448" for EdDSA/);
  assert.equal(createPrivateKey(rsaPair.privateKey).asymmetricKeyDetails?.modulusLength, 2048);
});

test('generateRsaKeyPair hands out a pair from the node\'s source, which may wait for the rest of the call\'s time limit, checks the shape first, and says when none came in time', () => {
  const asked: [number, number, number][] = [];
  host.rsaKeyPairs = {
    prepare: () => {},
    take: (bits, exponent, waitMs) => {
      asked.push([bits, exponent, waitMs]);
      return bits === 3072 ? { privateKey: rsaPair.privateKey, publicKey: rsaPair.publicKey } : undefined;
    },
  };
  try {
    assert.deepEqual(js.call('/c.js', 'rsa', [3072], env), rsaPair, 'the prepared pair');
    jsError(
      () => js.call('/c.js', 'rsa', [2048, 3], env),
      /threw Error: no 2048-bit RSA key pair with public exponent 3 was ready, and making one takes longer than this call could wait .*: this node is making one now, try again shortly/,
    );
    jsError(() => js.call('/c.js', 'rsa', [8192], env), /RangeError: unsupported RSA modulus of 8192 bits/);
    assert.deepEqual(asked.map(([bits, exponent]) => [bits, exponent]), [[3072, 65537], [2048, 3]], 'an invalid shape never reaches the host');
    for (const [, , waitMs] of asked) assert.ok(waitMs > 0 && waitMs <= TEST_LIMITS.maxExecutionTimeMs! / 2, `waits within half of the call's limit: ${waitMs} ms`);
  } finally {
    delete host.rsaKeyPairs;
  }
});

test('AES-KWP wraps as node id-aes256-wrap-pad does, and unwraps; tampering is detected', () => {
  const kek = js.call('/c.js', 'aes', [256], env) as Uint8Array;
  const key = text('a key of 21 bytes....');
  const wrapped = js.call('/c.js', 'wrap', [key, kek, { name: 'AES-KWP' }], env) as Uint8Array;
  const cipher = createCipheriv('id-aes256-wrap-pad', kek, Buffer.from('a65959a6', 'hex'));
  assert.deepEqual(wrapped, new Uint8Array(Buffer.concat([cipher.update(key), cipher.final()])));
  assert.deepEqual(js.call('/c.js', 'unwrap', [wrapped, kek, { name: 'AES-KWP' }], env), key);
  const tampered = wrapped.slice();
  tampered[0] = (tampered[0] ?? 0) ^ 1;
  jsError(() => js.call('/c.js', 'unwrap', [tampered, kek, { name: 'AES-KWP' }], env), /InternalError: Failed to unwrap key: AES-KWP unwrap failed: the integrity check failed \(a wrong key, or wrapped data that was altered or is not AES-KWP\)/);
  const otherKek = js.call('/c.js', 'aes', [256], env) as Uint8Array;
  jsError(() => js.call('/c.js', 'unwrap', [wrapped, otherKek, { name: 'AES-KWP' }], env), /Failed to unwrap key: AES-KWP unwrap failed: the integrity check failed \(a wrong key/);
  jsError(() => js.call('/c.js', 'wrap', [key, new Uint8Array(10), { name: 'AES-KWP' }], env), /InternalError: Failed to wrap key: AES-KWP needs a 16, 24 or 32 byte key/);
});

test('RSA-OAEP (SHA-256, optional label) wraps for node privateDecrypt and unwraps node output', () => {
  const key = text('secret key material');
  const label = text('label');
  const wrapped = js.call('/c.js', 'wrap', [key, text(rsaPair.publicKey), { name: 'RSA-OAEP', label }], env) as Uint8Array;
  const plain = privateDecrypt({ key: rsaPair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, wrapped);
  assert.deepEqual(new Uint8Array(plain), key);
  const nodeWrapped = publicEncrypt({ key: rsaPair.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
  assert.deepEqual(js.call('/c.js', 'unwrap', [new Uint8Array(nodeWrapped), text(rsaPair.privateKey), { name: 'RSA-OAEP' }], env), key);
  jsError(() => js.call('/c.js', 'unwrap', [wrapped, text(rsaPair.privateKey), { name: 'RSA-OAEP', label: text('wrong') }], env), /InternalError: Failed to unwrap key: RSA-OAEP unwrapping failed/);
  // The wrapping key is read as CCF reads it, an SPKI public key only (QA: a private key wrapped here, not on CCF).
  for (const notPublic of [rsaPair.privateKey, createPublicKey(rsaPair.publicKey).export({ type: 'pkcs1', format: 'pem' }) as string]) {
    for (const name of ['RSA-OAEP', 'RSA-OAEP-AES-KWP']) {
      jsError(() => js.call('/c.js', 'wrap', [key, text(notPublic), { name, aesKeySize: 256 }], env), /InternalError: Failed to wrap key: expected a PEM public key/);
    }
  }
});

test('RSA-OAEP-AES-KWP is RSA-OAEP of a fresh AES key followed by AES-KWP of the key', () => {
  const key = text('a longer payload than RSA alone could carry? not here, but it could be');
  const params = { name: 'RSA-OAEP-AES-KWP', aesKeySize: 256 };
  const wrapped = js.call('/c.js', 'wrap', [key, text(rsaPair.publicKey), params], env) as Uint8Array;
  const aesKey = privateDecrypt({ key: rsaPair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped.subarray(0, 256));
  assert.equal(aesKey.length, 32);
  assert.deepEqual(js.call('/c.js', 'unwrap', [wrapped, text(rsaPair.privateKey), params], env), key);
  jsError(() => js.call('/c.js', 'wrap', [key, text(rsaPair.publicKey), { name: 'RSA-OAEP-AES-KWP' }], env), /InternalError: Failed to wrap key: RSA-OAEP-AES-KWP needs aesKeySize 128, 192 or 256, got 0/);
  jsError(() => js.call('/c.js', 'wrap', [key, key, { name: 'ROT13' }], env), /RangeError: unsupported key wrapping algorithm "ROT13", supported: RSA-OAEP, AES-KWP, RSA-OAEP-AES-KWP$/);
});

test('isValidX509CertBundle accepts one or more certificates and nothing else', () => {
  const now = new Date(TEST_UNTRUSTED_NOW_MS);
  const a = createSelfSignedCertificate({ subjectCn: 'a', keyPair: generateKeyPair('P-256'), validFrom: now, validityDays: 1, isCa: false });
  const b = createSelfSignedCertificate({ subjectCn: 'b', keyPair: generateKeyPair('P-384'), validFrom: now, validityDays: 1, isCa: false });
  assert.equal(js.call('/c.js', 'bundle', [a + b], env), true);
  assert.equal(js.call('/c.js', 'bundle', [a], env), true);
  assert.equal(js.call('/c.js', 'bundle', [''], env), false);
  assert.equal(js.call('/c.js', 'bundle', ['garbage'], env), false);
  assert.equal(js.call('/c.js', 'bundle', [a + rsaPair.publicKey], env), false);
  assert.equal(js.call('/c.js', 'bundle', [a.replace('MI', 'XX')], env), false);
});

test('isValidX509CertBundle answers as parsing each certificate with parseCertificate would: a key that does not load fails it', () => {
  const now = new Date(TEST_UNTRUSTED_NOW_MS);
  const certificate = (curve: CurveName) => createSelfSignedCertificate({ subjectCn: curve, keyPair: generateKeyPair(curve), validFrom: now, validityDays: 1, isCa: false });
  const p256 = certificate('P-256');
  const der = pemToDer(p256, 'CERTIFICATE');
  // The P-256 point (BIT STRING 03 42 00, then 04 x y) moved off the curve: OpenSSL still parses the certificate.
  const point = Buffer.from(der).indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04]));
  assert.ok(point > 0, 'the certificate holds an uncompressed P-256 point');
  const offCurve = Uint8Array.from(der);
  offCurve[point + 10] = (offCurve[point + 10] ?? 0) ^ 1;
  const offCurvePem = derToPem(offCurve, 'CERTIFICATE');
  assert.doesNotThrow(() => new X509Certificate(offCurve), 'OpenSSL parses the certificate');
  const fromX5c = (x5c: string) => derToPem(Buffer.from(x5c, 'base64'), 'CERTIFICATE');
  const rsa = fromX5c(rsaCertificate(2048).x5c);
  const cases: [string, string, boolean][] = [
    ['P-256', p256, true],
    ['P-384', certificate('P-384'), true],
    ['Ed25519', certificate('Ed25519'), true],
    ['RSA', rsa, true],
    ['secp256k1', fromX5c(ecCertificate('secp256k1').x5c), true],
    ['two certificates', p256 + rsa, true],
    ['a key that does not load', offCurvePem, false],
    ['a bundle with one such', p256 + offCurvePem, false],
    ['a truncated certificate', derToPem(der.subarray(0, der.length - 8), 'CERTIFICATE'), false],
    ['another block', derToPem(der, 'PUBLIC KEY'), false],
  ];
  for (const [what, pem, valid] of cases) {
    const parses = splitPemBundle(pem).every((block) => {
      try {
        return parseCertificate(block) !== undefined;
      } catch {
        return false;
      }
    });
    assert.equal(parses, valid, `${what}: parseCertificate`);
    assert.equal(js.call('/c.js', 'bundle', [pem], env), valid, `${what}: isValidX509CertBundle`);
  }
});

test('isValidX509RootCACert accepts one self-signed CA certificate, or a self-signed v1 one, and nothing else', () => {
  const now = new Date(TEST_UNTRUSTED_NOW_MS);
  const caKeys = generateKeyPair('P-256');
  const ca = createSelfSignedCertificate({ subjectCn: 'root', keyPair: caKeys, validFrom: now, validityDays: 10, isCa: true });
  const notCa = createSelfSignedCertificate({ subjectCn: 'leaf', keyPair: generateKeyPair('P-256'), validFrom: now, validityDays: 10, isCa: false });
  const intermediate = issueCertificate({ csrPem: createCsr({ subjectCn: 'intermediate', keyPair: generateKeyPair('P-256') }), issuerCertPem: ca, issuerKeyPair: caKeys, validFrom: now, validityDays: 5, isCa: true });
  // An X.509 v1 certificate (no extensions) that OpenSSL made: OpenSSL counts a self-signed one as a CA.
  const v1 = withTempFiles({}, (dir) => {
    const made = openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-subj', '/CN=v1', '-days', '2', '-config', '/dev/null', '-out', 'c.pem'], dir);
    assert.equal(made.status, 0, made.stderr);
    assert.match(openssl(['x509', '-in', 'c.pem', '-noout', '-text'], dir).stdout, /Version: 1 /, 'openssl made a v1 certificate');
    return readFileSync(join(dir, 'c.pem'), 'utf8');
  });
  assert.equal(js.call('/c.js', 'root', [ca], env), true);
  assert.equal(js.call('/c.js', 'root', [v1], env), true);
  assert.equal(js.call('/c.js', 'root', [notCa], env), false, 'self-signed, not a CA');
  assert.equal(js.call('/c.js', 'root', [intermediate], env), false, 'a CA, not self-signed');
  assert.equal(js.call('/c.js', 'root', [ca + ca], env), false, 'one certificate only');
  assert.equal(js.call('/c.js', 'root', ['garbage'], env), false);
  jsError(() => js.call('/c.js', 'root', [42], env), /TypeError/);
});

test('isValidX509CertChain checks the chain against trusted certificates at host time', () => {
  const now = new Date(TEST_UNTRUSTED_NOW_MS);
  const caKeys = generateKeyPair('P-256');
  const ca = createSelfSignedCertificate({ subjectCn: 'CA', keyPair: caKeys, validFrom: now, validityDays: 10, isCa: true });
  const leafKeys = generateKeyPair('P-256');
  const leaf = issueCertificate({ csrPem: createCsr({ subjectCn: 'leaf', keyPair: leafKeys }), issuerCertPem: ca, issuerKeyPair: caKeys, validFrom: now, validityDays: 5, isCa: false });
  const other = createSelfSignedCertificate({ subjectCn: 'other', keyPair: generateKeyPair('P-256'), validFrom: now, validityDays: 10, isCa: true });
  assert.equal(js.call('/c.js', 'chain', [leaf, ca], env), true);
  assert.equal(js.call('/c.js', 'chain', [leaf, other + ca], env), true);
  assert.equal(js.call('/c.js', 'chain', [leaf, other], env), false);
  assert.equal(js.call('/c.js', 'chain', ['', ca], env), false);
  const saved = host.untrustedNow;
  host.untrustedNow = TEST_UNTRUSTED_NOW_MS + 30 * 86_400_000;
  try {
    assert.equal(js.call('/c.js', 'chain', [leaf, ca], env), false, 'expired at host time');
  } finally {
    host.untrustedNow = saved;
  }
});

test('PEM and JWK convert both ways for EC, RSA and EdDSA keys, with an optional kid', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const ecJwk = js.call('/c.js', 'toJwk', ['pubPemToJwk', ec.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'my-kid'], env);
  const nodeEc = ec.publicKey.export({ format: 'jwk' });
  assert.deepEqual(ecJwk, { kty: 'EC', kid: 'my-kid', crv: 'P-256', x: nodeEc.x, y: nodeEc.y });
  const ecPrivateJwk = js.call('/c.js', 'toJwk', ['pemToJwk', ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()], env) as Record<string, string>;
  assert.equal(ecPrivateJwk.d, ec.privateKey.export({ format: 'jwk' }).d);
  const ecPem = js.call('/c.js', 'toPem', ['jwkToPem', ecPrivateJwk], env) as string;
  assert.equal(createPrivateKey(ecPem).export({ format: 'jwk' }).d, ecPrivateJwk.d);
  assert.equal(js.call('/c.js', 'toPem', ['pubJwkToPem', ecJwk], env), ec.publicKey.export({ type: 'spki', format: 'pem' }).toString());

  const rsaJwk = js.call('/c.js', 'toJwk', ['rsaPemToJwk', rsaPair.privateKey], env) as Record<string, string>;
  assert.deepEqual(Object.keys(rsaJwk), ['kty', 'n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi']);
  assert.equal(js.call('/c.js', 'toPem', ['pubRsaJwkToPem', rsaJwk], env), rsaPair.publicKey);
  assert.deepEqual(Object.keys(js.call('/c.js', 'toJwk', ['pubRsaPemToJwk', rsaPair.publicKey], env) as object), ['kty', 'n', 'e']);
  assert.equal(createPrivateKey(js.call('/c.js', 'toPem', ['rsaJwkToPem', rsaJwk], env) as string).asymmetricKeyType, 'rsa');

  const ed = generateKeyPair('Ed25519');
  const edJwk = js.call('/c.js', 'toJwk', ['eddsaPemToJwk', ed.privateKeyPem], env) as Record<string, string>;
  assert.deepEqual(Object.keys(edJwk), ['kty', 'crv', 'x', 'd']);
  assert.equal(edJwk.crv, 'Ed25519');
  assert.equal(js.call('/c.js', 'toPem', ['pubEddsaJwkToPem', edJwk], env), ed.publicKeyPem);
  assert.equal(js.call('/c.js', 'toPem', ['eddsaJwkToPem', edJwk], env), ed.privateKeyPem);
  assert.deepEqual(Object.keys(js.call('/c.js', 'toJwk', ['pubEddsaPemToJwk', ed.publicKeyPem], env) as object), ['kty', 'crv', 'x']);

  jsError(() => js.call('/c.js', 'toJwk', ['pubPemToJwk', rsaPair.publicKey], env), /InternalError: Failed to convert pem to jwk: expected a EC key, got a rsa key/);
  jsError(() => js.call('/c.js', 'toPem', ['pubJwkToPem', { kty: 'EC', crv: 'P-256' }], env), /InternalError: Failed to convert jwk to pem the JWK has no string member "x"/);
});

test("ccf.crypto checks argument counts with CCF's TypeError", () => {
  const hmac = { name: 'HMAC', hash: 'SHA-256' };
  const cases: [string, JsValue[], string][] = [
    ['sign', [hmac, 'k'], '3'],
    ['verifySignature', [hmac, 'k', DATA], '4'],
    ['digest', ['SHA-256'], '2'],
    ['digest', ['SHA-256', DATA, 5], '2'],
    ['generateAesKey', [], '1'],
    ['generateRsaKeyPair', [], '1 or 2'],
    ['generateRsaKeyPair', [2048, 65537, 1], '1 or 2'],
    ['generateEcdsaKeyPair', [], '1'],
    ['generateEddsaKeyPair', ['curve25519', 1], '1'],
    ['wrapKey', [DATA, DATA], '3'],
    ['unwrapKey', [DATA], '3'],
    ['isValidX509CertBundle', [], '1'],
    ['isValidX509CertChain', ['x'], '2'],
    ['pubPemToJwk', [], '1 or 2'],
    ['rsaPemToJwk', [rsaPair.privateKey, 'kid', 'extra'], '1 or 2'],
    ['pubJwkToPem', [], '1'],
    ['eddsaJwkToPem', [{}, {}], '1'],
  ];
  for (const [name, args, expected] of cases) {
    assert.deepEqual(failure(name, ...args), ['TypeError', `Passed ${args.length} arguments, but expected ${expected}`], name);
  }
});

test("ccf.crypto failures are CCF's InternalError (RangeError for EdDSA verification) with CCF's words first, then what failed", () => {
  const x25519 = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ecPublic = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const expectFailure = (got: [string, string] | null, name: string, prefix: string): void => {
    assert.ok(got !== null, `${prefix}: the call returned`);
    assert.equal(got[0], name, got[1]);
    assert.ok(got[1].startsWith(prefix) && got[1].length > prefix.length, got[1]);
  };
  expectFailure(failure('sign', { name: 'ECDSA', hash: 'SHA-256' }, 'not a key', DATA), 'InternalError', 'Failed to sign: ');
  expectFailure(failure('sign', { name: 'EdDSA' }, x25519, DATA), 'InternalError', 'Failed to sign with EdDSA pair: ');
  expectFailure(failure('verifySignature', { name: 'ECDSA', hash: 'SHA-256' }, 'not a key', DATA, DATA), 'InternalError', 'Failed to verify signature: ');
  expectFailure(failure('verifySignature', { name: 'EdDSA' }, ecPublic, DATA, DATA), 'RangeError', 'Failed to verify EdDSA signature: ');
  expectFailure(failure('wrapKey', DATA, new Uint8Array(10), { name: 'AES-KWP' }), 'InternalError', 'Failed to wrap key: ');
  expectFailure(failure('wrapKey', DATA, text('not a key'), { name: 'RSA-OAEP' }), 'InternalError', 'Failed to wrap key: ');
  expectFailure(failure('unwrapKey', new Uint8Array(24), new Uint8Array(32), { name: 'AES-KWP' }), 'InternalError', 'Failed to unwrap key: ');
  expectFailure(failure('pemToJwk', 'garbage'), 'InternalError', 'Failed to convert pem to jwk: ');
  // CCF's words have no colon here.
  expectFailure(failure('pubJwkToPem', null), 'InternalError', 'Failed to convert jwk to pem ');
  expectFailure(failure('rsaJwkToPem', { kty: 'RSA' }), 'InternalError', 'Failed to convert jwk to pem ');
  // What CCF refuses before trying stays a RangeError of its own words.
  assert.deepEqual(failure('sign', { name: 'ECDSA', hash: 'SHA-1' }, 'k', DATA), ['RangeError', 'Unsupported hash algorithm "SHA-1" for ECDSA in sign, supported: SHA-256, SHA-384, SHA-512']);
  assert.deepEqual(failure('wrapKey', DATA, DATA, { name: 'ROT13' }), ['RangeError', 'unsupported key wrapping algorithm "ROT13", supported: RSA-OAEP, AES-KWP, RSA-OAEP-AES-KWP']);
});

test("as CCF 6: ECDSA keys and EC JWKs on curves other than P-256, P-384 and P-521 are refused", () => {
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
  for (const namedCurve of ['secp256k1', 'brainpoolP256r1']) {
    const pair = generateKeyPairSync('ec', { namedCurve });
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const signature = new Uint8Array(nodeSign('sha256', DATA, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }));
    const curveNamed = new RegExp(`curve ${namedCurve} is not supported; CCF takes P-256, P-384, P-521`);
    for (const [got, prefix] of [
      [failure('sign', ecdsa, privatePem, DATA), 'Failed to sign: '],
      [failure('verifySignature', ecdsa, publicPem, signature, DATA), 'Failed to verify signature: '],
      [failure('pubPemToJwk', publicPem), 'Failed to convert pem to jwk: '],
      [failure('pemToJwk', privatePem), 'Failed to convert pem to jwk: '],
    ] as const) {
      assert.equal(got?.[0], 'InternalError', `${namedCurve}: ${got?.[1]}`);
      assert.ok(got[1].startsWith(prefix) && curveNamed.test(got[1]), got[1]);
    }
  }
  const k1Jwk = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' });
  assert.deepEqual(failure('pubJwkToPem', k1Jwk as JsValue), ['InternalError', 'Failed to convert jwk to pem unsupported JWK curve "secp256k1"; CCF takes P-256, P-384, P-521']);
});

test('as CCF 6 (OpenSSL PEM_read_bio_PUBKEY): a public key is a PUBLIC KEY block; private keys, PKCS#1 RSA PUBLIC KEY and certificates not at the start are refused', () => {
  const now = new Date(TEST_UNTRUSTED_NOW_MS);
  const ec = generateKeyPair('P-256');
  const cert = createSelfSignedCertificate({ subjectCn: 'ec', keyPair: ec, validFrom: now, validityDays: 1, isCa: false });
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
  const signature = new Uint8Array(nodeSign('sha256', DATA, { key: ec.privateKeyPem, dsaEncoding: 'ieee-p1363' }));
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, signature, DATA], env), true);
  assert.equal(js.call('/c.js', 'verify', [ecdsa, cert, signature, DATA], env), true, 'a certificate is read as one when the text starts with it');
  const rsaPkcs1 = createPublicKey(rsaPair.publicKey).export({ type: 'pkcs1', format: 'pem' }).toString();
  const pss = { name: 'RSA-PSS', hash: 'SHA-256' };
  const refusals: [[string, string] | null, string][] = [
    [failure('verifySignature', ecdsa, ec.privateKeyPem, signature, DATA), 'Failed to verify signature: '],
    [failure('verifySignature', ecdsa, '\n' + cert, signature, DATA), 'Failed to verify signature: '],
    [failure('verifySignature', pss, rsaPkcs1, signature, DATA), 'Failed to verify signature: '],
    [failure('pubPemToJwk', ec.privateKeyPem), 'Failed to convert pem to jwk: '],
    [failure('pubPemToJwk', cert), 'Failed to convert pem to jwk: '],
    [failure('pubRsaPemToJwk', rsaPair.privateKey), 'Failed to convert pem to jwk: '],
    [failure('pubRsaPemToJwk', rsaPkcs1), 'Failed to convert pem to jwk: '],
    [failure('pubEddsaPemToJwk', generateKeyPair('Ed25519').privateKeyPem), 'Failed to convert pem to jwk: '],
  ];
  for (const [got, prefix] of refusals) {
    assert.equal(got?.[0], 'InternalError', got?.[1]);
    assert.ok(got[1].startsWith(prefix + 'expected a PEM public key (-----BEGIN PUBLIC KEY-----, SPKI)'), got[1]);
  }
});

test("as CCF: an ECDSA signature whose r and s are zero-padded to any even length verifies; an odd length or an overlong r or s is false", () => {
  const ec = generateKeyPair('P-256');
  const ecdsa = { name: 'ECDSA', hash: 'SHA-256' };
  const signature = new Uint8Array(nodeSign('sha256', DATA, { key: ec.privateKeyPem, dsaEncoding: 'ieee-p1363' }));
  const padded = (zeros: number): Uint8Array =>
    new Uint8Array([...new Uint8Array(zeros), ...signature.subarray(0, 32), ...new Uint8Array(zeros), ...signature.subarray(32)]);
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, padded(1), DATA], env), true, '66 bytes');
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, padded(40), DATA], env), true, '144 bytes');
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, signature.subarray(0, 63), DATA], env), false, 'odd length');
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, new Uint8Array([...signature, 0]), DATA], env), false, 'odd length, a byte added');
  const overlong = new Uint8Array([1, ...signature.subarray(0, 32), 0, ...signature.subarray(32)]);
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, overlong, DATA], env), false, 'r of 33 significant bytes');
  assert.equal(js.call('/c.js', 'verify', [ecdsa, ec.publicKeyPem, new Uint8Array(0), DATA], env), false, 'empty');
});

test("as CCF: sizes and salt lengths are converted as JS_ToInt32, JS_ToUint32 and JS_ToInt64 do (numeric strings, fractions truncated)", () => {
  assert.equal((js.call('/c.js', 'aes', ['256'], env) as Uint8Array).length, 32);
  assert.equal((js.call('/c.js', 'aes', [192.9], env) as Uint8Array).length, 24);
  const pair = js.call('/c.js', 'rsa', ['1024', '3'], env) as { privateKey: string };
  assert.equal(createPrivateKey(pair.privateKey).asymmetricKeyDetails?.modulusLength, 1024);
  assert.equal(createPrivateKey(pair.privateKey).asymmetricKeyDetails?.publicExponent, 3n);
  const padding = constants.RSA_PKCS1_PSS_PADDING;
  for (const [saltLength, nodeSaltLength] of [['32', 32], [31.7, 31], [{ a: 1 }, 0]] as const) {
    const signature = js.call('/c.js', 'sign', [{ name: 'RSA-PSS', hash: 'SHA-256', saltLength }, rsaPair.privateKey, DATA], env) as Uint8Array;
    assert.ok(nodeVerify('sha256', DATA, { key: rsaPair.publicKey, padding, saltLength: nodeSaltLength }, signature), JSON.stringify(saltLength));
  }
  const key = text('key material');
  const wrapped = js.call('/c.js', 'wrap', [key, text(rsaPair.publicKey), { name: 'RSA-OAEP-AES-KWP', aesKeySize: '128' }], env) as Uint8Array;
  assert.deepEqual(js.call('/c.js', 'unwrap', [wrapped, text(rsaPair.privateKey), { name: 'RSA-OAEP-AES-KWP' }], env), key);
});

test('as CCF: an RSA-OAEP label that is not an ArrayBuffer of some bytes is no label', () => {
  const key = text('key material');
  const wrapped = js.call('/c.js', 'wrapWithViewLabel', [key, text(rsaPair.publicKey)], env) as Uint8Array;
  const plain = privateDecrypt({ key: rsaPair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
  assert.deepEqual(new Uint8Array(plain), key);
  const emptyLabel = js.call('/c.js', 'wrap', [key, text(rsaPair.publicKey), { name: 'RSA-OAEP', label: new Uint8Array(0) }], env) as Uint8Array;
  assert.deepEqual(js.call('/c.js', 'unwrap', [emptyLabel, text(rsaPair.privateKey), { name: 'RSA-OAEP' }], env), key);
});
