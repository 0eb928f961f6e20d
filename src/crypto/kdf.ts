// Keyed hashing and key derivation over SHA-256 (HMAC, HKDF), for secrets derived from the
// ledger secret so that one key is never used for two purposes.

import { createHmac, hkdfSync } from 'node:crypto';

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(data).digest());
}

export function hkdfSha256(key: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', key, salt, info, length));
}
