// CCF's serialised GCM cipher (`crypto::GcmCipher`): the 16-byte tag, the 12-byte IV, then the
// ciphertext, AES-256-GCM without additional data. Recovery shares, submitted shares and the chain
// of previous ledger secrets are stored this way; opening one returns the plaintext only once the
// tag checked out.

import { CocoError } from '../errors.js';
import { concatBytes } from './bytes.js';
import { AES_GCM_IV_BYTES, AES_GCM_TAG_BYTES, aesGcmDecrypt, aesGcmEncrypt } from './aes-gcm.js';

export const GCM_CIPHER_HEADER_BYTES = AES_GCM_TAG_BYTES + AES_GCM_IV_BYTES;

export function sealGcmCipher(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const { ciphertext, tag } = aesGcmEncrypt(key, iv, plaintext);
  return concatBytes(tag, iv, ciphertext);
}

/** The plaintext of `sealed`; DecryptionFailed if it is too short for a header or was not sealed with `key`. */
export function openGcmCipher(key: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < GCM_CIPHER_HEADER_BYTES) {
    throw new CocoError('DecryptionFailed', `a GCM cipher is at least ${GCM_CIPHER_HEADER_BYTES} bytes (tag and IV), not ${sealed.length}`);
  }
  const iv = sealed.subarray(AES_GCM_TAG_BYTES, GCM_CIPHER_HEADER_BYTES);
  return aesGcmDecrypt(key, iv, sealed.subarray(GCM_CIPHER_HEADER_BYTES), sealed.subarray(0, AES_GCM_TAG_BYTES));
}
