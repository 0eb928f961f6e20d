// Keyed hashing and key derivation over SHA-256 (HMAC, HKDF), for secrets derived from the
// ledger secret so that one key is never used for two purposes.

import { hash, hkdfSync } from 'node:crypto';
import { concatBytes } from './bytes.js';

const SHA256_BLOCK_BYTES = 64;

/**
 * HMAC-SHA256 under one key, for keys that MAC every transaction: RFC 2104's inner and outer
 * padded keys are computed once, and each MAC is two one-shot hashes (createHmac per call costs
 * more than the hashing itself).
 */
export class HmacSha256Key {
  private readonly innerPad = new Uint8Array(SHA256_BLOCK_BYTES);
  private readonly outerPad = new Uint8Array(SHA256_BLOCK_BYTES);

  constructor(key: Uint8Array) {
    const block = key.length > SHA256_BLOCK_BYTES ? new Uint8Array(hash('sha256', key, 'buffer')) : key;
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) {
      const byte = block[i] ?? 0;
      this.innerPad[i] = byte ^ 0x36;
      this.outerPad[i] = byte ^ 0x5c;
    }
  }

  mac(data: Uint8Array): Uint8Array {
    const inner = hash('sha256', concatBytes(this.innerPad, data), 'buffer');
    return new Uint8Array(hash('sha256', concatBytes(this.outerPad, inner), 'buffer'));
  }
}

export function hkdfSha256(key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key, salt, info, length));
}
