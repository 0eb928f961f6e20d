// The 2048-bit log bloom of receipts and blocks (Ethereum's yellow paper, M3:2048): for the address
// and each topic of every log, three bits set, each chosen by 11 bits of the item's keccak-256.

import { keccak256 } from '../crypto/keccak.js';
import type { LogRecord } from './ethereum-maps.js';

export const BLOOM_BYTES = 256;

function addToBloom(bloom: Uint8Array, item: Uint8Array): void {
  const hash = keccak256(item);
  for (let i = 0; i < 6; i += 2) {
    const bit = ((hash[i]! << 8) | hash[i + 1]!) & 2047;
    // Bit 0 is the lowest of the 2048-bit big-endian number: the last byte's lowest bit.
    bloom[BLOOM_BYTES - 1 - (bit >> 3)]! |= 1 << (bit & 7);
  }
}

export function logsBloom(logs: readonly LogRecord[]): Uint8Array {
  const bloom = new Uint8Array(BLOOM_BYTES);
  for (const log of logs) {
    addToBloom(bloom, log.address);
    for (const topic of log.topics) addToBloom(bloom, topic);
  }
  return bloom;
}
