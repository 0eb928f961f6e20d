// Sealing and opening entries with the ledger secret: the private domain is AES-256-GCM encrypted
// under the IV that encodes the TxID, with the public domain as additional data, so the GCM tag
// also authenticates public-only entries.

import { aesGcmDecrypt, aesGcmEncrypt } from '../crypto/aes-gcm.js';
import { CocoError } from '../errors.js';
import { ByteReader } from '../kv/byte-reader.js';
import { ByteWriter } from '../kv/byte-writer.js';
import { decodeMapChanges, encodeMapChanges } from '../kv/write-set-codec.js';
import type { MapChanges } from '../kv/write-set.js';
import { encodeEntry, encodeIv, writePublicDomain, type LedgerEntry, type PublicDomainFields } from './entry.js';
import { formatTxId, type TxId } from './tx-id.js';

export interface SealInput extends Omit<PublicDomainFields, 'seqno' | 'maps'> {
  txId: TxId;
  flags?: number;
  publicMaps: readonly MapChanges[];
  privateMaps: readonly MapChanges[];
  key: Uint8Array;
}

/** Scratch buffers for the two domains, reused by every entry: a fresh one per entry cost a tenth of sealing. */
const SCRATCH_BYTES_KEPT = 64 * 1024;
const publicScratch = new ByteWriter(SCRATCH_BYTES_KEPT);
const privateScratch = new ByteWriter(SCRATCH_BYTES_KEPT);

export function sealEntry(input: SealInput): Uint8Array {
  const publicDomain = writePublicDomain(publicScratch.reset(SCRATCH_BYTES_KEPT), { ...input, seqno: input.txId.seqno, maps: input.publicMaps }).finish();
  encodeMapChanges(privateScratch.reset(SCRATCH_BYTES_KEPT), input.privateMaps);
  const gcmIv = encodeIv(input.txId, false);
  const { ciphertext, tag } = aesGcmEncrypt(input.key, gcmIv, privateScratch.finish(), publicDomain);
  // The entry copies the public domain out of its scratch buffer.
  return encodeEntry({ flags: input.flags ?? 0, gcmTag: tag, gcmIv, publicDomain, encryptedPrivateDomain: ciphertext });
}

/** Authenticates the entry with `key` and returns its private maps (none for a public-only entry). */
export function openEntry(entry: LedgerEntry, key: Uint8Array): MapChanges[] {
  let plaintext: Uint8Array;
  try {
    plaintext = aesGcmDecrypt(key, entry.gcmIv, entry.encryptedPrivateDomain, entry.gcmTag, entry.publicDomain);
  } catch (error) {
    if (error instanceof CocoError && error.code === 'DecryptionFailed') {
      throw new CocoError('DecryptionFailed', `entry ${formatTxId(entry.txId)} does not decrypt with this ledger secret (wrong secret, or the entry was altered)`);
    }
    throw error;
  }
  return decodeMapChanges(new ByteReader(plaintext, 'LedgerEntryMalformed', `private domain of ${formatTxId(entry.txId)}`));
}
