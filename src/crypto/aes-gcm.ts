// AES-256-GCM with a 12-byte IV and a 16-byte tag: how CCF encrypts private ledger domains.
// Decryption returns plaintext only after the tag checked out; any mismatch of key, IV, tag, AAD or
// ciphertext is one error, 'DecryptionFailed'. Empty plaintexts are fine (tag over the AAD alone).

import { createCipheriv, createDecipheriv, type CipherGCM } from 'node:crypto';
import { CocoError } from '../errors.js';
import { concatBytes, plainBytes } from './bytes.js';

export const AES_256_KEY_BYTES = 32;
export const AES_GCM_IV_BYTES = 12;
export const AES_GCM_TAG_BYTES = 16;

const EMPTY = new Uint8Array(0);

export function aesGcmEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = EMPTY,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  const encryption = new AesGcmEncryption(key, iv, aad);
  const ciphertext = encryption.update(plaintext);
  return { ciphertext, tag: encryption.final() };
}

/** AES-256-GCM encryption a piece at a time: for plaintexts too large to encrypt in one go. */
export class AesGcmEncryption {
  readonly #cipher: CipherGCM;

  constructor(key: Uint8Array, iv: Uint8Array, aad: Uint8Array = EMPTY) {
    checkKeyAndIv(key, iv);
    this.#cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: AES_GCM_TAG_BYTES });
    this.#cipher.setAAD(aad);
  }

  /** More additional authenticated data (AAD given a piece at a time); all of it precedes the first `update`. */
  authenticate(aad: Uint8Array): this {
    this.#cipher.setAAD(aad);
    return this;
  }

  /** The ciphertext of the next piece of plaintext (GCM is a stream mode: as many bytes). */
  update(plaintext: Uint8Array): Uint8Array {
    return plainBytes(this.#cipher.update(plaintext));
  }

  /** The tag, once every piece is encrypted. */
  final(): Uint8Array {
    // GCM adds nothing at the end: the ciphertext is all in what update returned.
    this.#cipher.final();
    return plainBytes(this.#cipher.getAuthTag());
  }
}

export function aesGcmDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array = EMPTY,
): Uint8Array {
  checkKeyAndIv(key, iv);
  if (!(tag instanceof Uint8Array) || tag.length !== AES_GCM_TAG_BYTES) {
    throw new CocoError('DecryptionFailed', `AES-GCM tag must be ${AES_GCM_TAG_BYTES} bytes, got ${lengthOf(tag)}`);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: AES_GCM_TAG_BYTES });
  decipher.setAuthTag(tag);
  decipher.setAAD(aad);
  const plaintext = decipher.update(ciphertext);
  try {
    return concatBytes(plaintext, decipher.final());
  } catch (cause) {
    plaintext.fill(0); // unauthenticated output must not linger
    throw new CocoError(
      'DecryptionFailed',
      'AES-GCM authentication failed: wrong key, IV, tag or AAD, or the ciphertext was altered',
      { cause },
    );
  }
}

function checkKeyAndIv(key: Uint8Array, iv: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== AES_256_KEY_BYTES) {
    throw new CocoError('InvalidKey', `AES-256-GCM key must be ${AES_256_KEY_BYTES} bytes, got ${lengthOf(key)}`);
  }
  if (!(iv instanceof Uint8Array) || iv.length !== AES_GCM_IV_BYTES) {
    throw new CocoError('InvalidIv', `AES-GCM IV must be ${AES_GCM_IV_BYTES} bytes, got ${lengthOf(iv)}`);
  }
}

function lengthOf(value: unknown): string {
  return value instanceof Uint8Array ? `${value.length} bytes` : typeof value;
}
