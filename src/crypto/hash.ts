// SHA-256 and SHA-384 over byte strings, via node:crypto's one-shot hash.
// Hot path (Merkle leaves and inner nodes): one native call per digest, and the result is a plain
// Uint8Array view over the digest's own 32/48-byte buffer (no copy, no Buffer leaking out).

import { createHash, hash, type Hash } from 'node:crypto';
import { plainBytes } from './bytes.js';

export const SHA256_BYTES = 32;
export const SHA384_BYTES = 48;

export function sha256(data: Uint8Array): Uint8Array {
  return plainBytes(hash('sha256', data, 'buffer'));
}

export function sha384(data: Uint8Array): Uint8Array {
  return plainBytes(hash('sha384', data, 'buffer'));
}

/** Lowercase hex SHA-256: the form of CCF's entity IDs and digests in JSON. */
export function sha256Hex(data: Uint8Array): string {
  return hash('sha256', data, 'hex');
}

/** SHA-256 over data given a piece at a time (megabytes hashed between other work). */
export class Sha256Hasher {
  readonly #hash: Hash = createHash('sha256');

  update(data: Uint8Array): this {
    this.#hash.update(data);
    return this;
  }

  digest(): Uint8Array {
    return plainBytes(this.#hash.digest());
  }
}
