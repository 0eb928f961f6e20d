import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  AES_256_KEY_BYTES,
  AES_GCM_IV_BYTES,
  AES_GCM_TAG_BYTES,
  AesGcmEncryption,
  aesGcmDecrypt,
  aesGcmEncrypt,
} from '../../src/crypto/aes-gcm.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';

const KEY = Uint8Array.from({ length: AES_256_KEY_BYTES }, (_, i) => i);
const IV = Uint8Array.from({ length: AES_GCM_IV_BYTES }, (_, i) => 0xa0 + i);
const PLAINTEXT = utf8('private write set');
const AAD = utf8('public domain');

function flip(bytes: Uint8Array, index = 0): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe('aesGcmEncrypt / aesGcmDecrypt', () => {
  it('matches the AES-256-GCM test vectors of the GCM specification (test cases 13 and 14)', () => {
    const zeroKey = new Uint8Array(32);
    const zeroIv = new Uint8Array(12);
    const empty = aesGcmEncrypt(zeroKey, zeroIv, new Uint8Array(0));
    assert.equal(empty.ciphertext.length, 0);
    assert.equal(toHex(empty.tag), '530f8afbc74536b9a963b4f1c4cb738b');
    const block = aesGcmEncrypt(zeroKey, zeroIv, new Uint8Array(16));
    assert.equal(toHex(block.ciphertext), 'cea7403d4d606b6e074ec5d3baf39d18');
    assert.equal(toHex(block.tag), 'd0d1c8a799996bf0265b98b5d48ab919');
    assert.deepEqual(aesGcmDecrypt(zeroKey, zeroIv, block.ciphertext, fromHex('d0d1c8a799996bf0265b98b5d48ab919')), new Uint8Array(16));
  });

  it('round-trips with and without AAD', () => {
    for (const aad of [AAD, undefined]) {
      const { ciphertext, tag } = aesGcmEncrypt(KEY, IV, PLAINTEXT, aad);
      assert.equal(ciphertext.length, PLAINTEXT.length);
      assert.equal(tag.length, AES_GCM_TAG_BYTES);
      assert.notDeepEqual(ciphertext, PLAINTEXT);
      assert.deepEqual(aesGcmDecrypt(KEY, IV, ciphertext, tag, aad), PLAINTEXT);
    }
  });

  it('authenticates the AAD alone when the plaintext is empty (a public-only ledger entry)', () => {
    const { ciphertext, tag } = aesGcmEncrypt(KEY, IV, new Uint8Array(0), AAD);
    assert.equal(ciphertext.length, 0);
    assert.deepEqual(aesGcmDecrypt(KEY, IV, ciphertext, tag, AAD), new Uint8Array(0));
    assert.throws(() => aesGcmDecrypt(KEY, IV, ciphertext, tag, flip(AAD)), { name: 'CocoError', code: 'DecryptionFailed' });
  });

  it('returns plain Uint8Arrays', () => {
    const { ciphertext, tag } = aesGcmEncrypt(KEY, IV, PLAINTEXT);
    for (const bytes of [ciphertext, tag, aesGcmDecrypt(KEY, IV, ciphertext, tag)]) {
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    }
  });

  it('fails with DecryptionFailed on any wrong key, IV, tag, AAD or ciphertext', () => {
    const { ciphertext, tag } = aesGcmEncrypt(KEY, IV, PLAINTEXT, AAD);
    const cases: [string, () => Uint8Array][] = [
      ['wrong key', () => aesGcmDecrypt(flip(KEY), IV, ciphertext, tag, AAD)],
      ['wrong IV', () => aesGcmDecrypt(KEY, flip(IV), ciphertext, tag, AAD)],
      ['tampered tag', () => aesGcmDecrypt(KEY, IV, ciphertext, flip(tag, 15), AAD)],
      ['truncated tag', () => aesGcmDecrypt(KEY, IV, ciphertext, tag.subarray(0, 12), AAD)],
      ['tampered ciphertext', () => aesGcmDecrypt(KEY, IV, flip(ciphertext, 3), tag, AAD)],
      ['truncated ciphertext', () => aesGcmDecrypt(KEY, IV, ciphertext.subarray(1), tag, AAD)],
      ['wrong AAD', () => aesGcmDecrypt(KEY, IV, ciphertext, tag, flip(AAD))],
      ['missing AAD', () => aesGcmDecrypt(KEY, IV, ciphertext, tag)],
    ];
    for (const [name, decrypt] of cases) {
      assert.throws(decrypt, { name: 'CocoError', code: 'DecryptionFailed' }, name);
    }
  });

  it('rejects keys that are not 32 bytes with InvalidKey and IVs that are not 12 bytes with InvalidIv', () => {
    const { ciphertext, tag } = aesGcmEncrypt(KEY, IV, PLAINTEXT);
    for (const key of [new Uint8Array(16), new Uint8Array(31), new Uint8Array(33)]) {
      assert.throws(() => aesGcmEncrypt(key, IV, PLAINTEXT), { name: 'CocoError', code: 'InvalidKey' });
      assert.throws(() => aesGcmDecrypt(key, IV, ciphertext, tag), { name: 'CocoError', code: 'InvalidKey' });
    }
    for (const iv of [new Uint8Array(0), new Uint8Array(16)]) {
      assert.throws(() => aesGcmEncrypt(KEY, iv, PLAINTEXT), { name: 'CocoError', code: 'InvalidIv' });
      assert.throws(() => aesGcmDecrypt(KEY, iv, ciphertext, tag), { name: 'CocoError', code: 'InvalidIv' });
    }
  });
});

it('encrypts in pieces to the ciphertext and tag of encrypting in one go', () => {
  const key = new Uint8Array(32).fill(3);
  const iv = new Uint8Array(12).fill(4);
  const aad = new Uint8Array([1, 2, 3]);
  const plaintext = new Uint8Array(10_000).map((_, i) => i % 256);
  const whole = aesGcmEncrypt(key, iv, plaintext, aad);
  const encryption = new AesGcmEncryption(key, iv, aad);
  const boundaries = [0, 1, 17, 4096, 10_000];
  const pieces = boundaries.slice(1).map((end, i) => encryption.update(plaintext.subarray(boundaries[i], end)));
  assert.deepEqual(concatBytes(...pieces), whole.ciphertext);
  assert.deepEqual(encryption.final(), whole.tag);
  assert.deepEqual(aesGcmDecrypt(key, iv, whole.ciphertext, whole.tag, aad), plaintext);
});
