// Cryptographically secure random bytes from node:crypto (the OS CSPRNG), as a plain Uint8Array.

import { randomFillSync } from 'node:crypto';
import { CocoError } from '../errors.js';

/** Largest single request; callers needing more ask in chunks (guards against a runaway length). */
export const RANDOM_BYTES_MAX = 65_536;

export function randomBytes(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > RANDOM_BYTES_MAX) {
    throw new CocoError('InvalidArgument', `randomBytes: length must be an integer in 0..${RANDOM_BYTES_MAX}, got ${n}`);
  }
  return randomFillSync(new Uint8Array(n));
}
