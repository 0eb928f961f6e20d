// CCF's serialised GCM cipher: tag, IV, then ciphertext; it opens only with its key and intact.

import assert from 'node:assert/strict';
import test from 'node:test';
import { aesGcmEncrypt } from '../../src/crypto/aes-gcm.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import { GCM_CIPHER_HEADER_BYTES, openGcmCipher, sealGcmCipher } from '../../src/crypto/gcm-cipher.js';
import { CocoError } from '../../src/errors.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const IV = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
const PLAINTEXT = utf8('a recovery share');

const decryptionFailed = (error: unknown) => error instanceof CocoError && error.code === 'DecryptionFailed';

test('a sealed GCM cipher is the tag, the IV, then the ciphertext, and opens with its key', () => {
  const sealed = sealGcmCipher(KEY, IV, PLAINTEXT);
  const { ciphertext, tag } = aesGcmEncrypt(KEY, IV, PLAINTEXT);
  assert.deepEqual(sealed, concatBytes(tag, IV, ciphertext));
  assert.equal(GCM_CIPHER_HEADER_BYTES, 28);
  assert.deepEqual(openGcmCipher(KEY, sealed), PLAINTEXT);
  assert.deepEqual(openGcmCipher(KEY, sealGcmCipher(KEY, IV, new Uint8Array(0))), new Uint8Array(0));
});

test('a GCM cipher does not open with another key, altered, or shorter than its header', () => {
  const sealed = sealGcmCipher(KEY, IV, PLAINTEXT);
  assert.throws(() => openGcmCipher(new Uint8Array(32), sealed), decryptionFailed);
  for (const index of [0, 16, GCM_CIPHER_HEADER_BYTES]) {
    const altered = sealed.slice();
    altered[index]! ^= 1;
    assert.throws(() => openGcmCipher(KEY, altered), decryptionFailed, `byte ${index} altered`);
  }
  assert.throws(() => openGcmCipher(KEY, sealed.subarray(0, GCM_CIPHER_HEADER_BYTES - 1)), (e: unknown) => decryptionFailed(e) && /at least 28 bytes/.test((e as Error).message));
});
