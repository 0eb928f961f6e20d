// Recovery shares that members submit to a recovering service, as CCF's ShareManager keeps them:
// `public:ccf.internal.encrypted_submitted_shares` maps a member ID to its share, sealed (GcmCipher,
// random IV) under the service's current latest ledger secret, since the table is public. A member
// submitting again replaces its own share. Once enough are in, recovered-secrets.ts combines them.

import { fromBase64, fromUtf8, toBase64, utf8 } from '../crypto/bytes.js';
import { AES_GCM_IV_BYTES } from '../crypto/aes-gcm.js';
import { openGcmCipher, sealGcmCipher } from '../crypto/gcm-cipher.js';
import { randomBytes } from '../crypto/random.js';
import { decodeShare, SHARE_BYTES } from '../crypto/secret-sharing.js';
import { CocoError } from '../errors.js';
import { decodeJson, encodeJson } from './builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';

export const SUBMITTED_SHARES_MAP = 'public:ccf.internal.encrypted_submitted_shares';

/** Whether `share` is a whole recovery key (a recovery owner's): a share with x = 0, as CCF's is_full_key. */
export function isFullKey(share: Uint8Array): boolean {
  return share.length === SHARE_BYTES && decodeShare(share).x === 0;
}

/**
 * Stores `share` as `memberId`'s submission, sealed under `latestSecret`, and returns how many
 * members have submitted one. CCF stores any bytes and finds a share of the wrong size only when
 * combining, which then fails for everyone and clears every submission; Coco refuses it here
 * (InvalidInput, a 400), since no share CCF or Coco issues has another size: the member learns at
 * once that it sent something else (say, its still-encrypted share), and the others keep theirs.
 */
export function submitRecoveryShare(tx: Transaction, memberId: string, share: Uint8Array, latestSecret: Uint8Array): number {
  if (share.length !== SHARE_BYTES) {
    throw new CocoError('InvalidInput', `a recovery share is ${SHARE_BYTES} bytes once decrypted with the member's encryption key, not ${share.length}: submit the decrypted share, base64-encoded`);
  }
  const table = tx.map(SUBMITTED_SHARES_MAP);
  // As CCF's ServiceMap: the value is JSON, bytes as a base64 string.
  table.set(utf8(memberId), encodeJson(toBase64(sealGcmCipher(latestSecret, randomBytes(AES_GCM_IV_BYTES), share))));
  return table.size();
}

/** Forgets every submitted share (CCF clears them when a recovery starts over and once it is done). */
export function clearSubmittedRecoveryShares(tx: Transaction): void {
  tx.map(SUBMITTED_SHARES_MAP).clear();
}

/** The submitted shares, opened with `latestSecret`, in member ID order. */
export function submittedShares(tx: Transaction, latestSecret: Uint8Array): Uint8Array[] {
  const shares: Uint8Array[] = [];
  tx.map(SUBMITTED_SHARES_MAP).forEach((value, key) => {
    try {
      shares.push(openGcmCipher(latestSecret, fromBase64(decodeJson<string>(value, SUBMITTED_SHARES_MAP))));
    } catch (cause) {
      throw new CocoError('DecryptionFailed', `Decrypting submitted shares failed: the share of member ${fromUtf8(key)} is not sealed under the service's latest ledger secret; clear the submitted shares and have the members submit again`, { cause });
    }
  });
  return shares;
}

/** Whether a submission ends the collection of shares: the threshold is reached, or a whole key came. */
export function completesRecoveryShares(submitted: number, threshold: number, fullKey: boolean): boolean {
  return fullKey || submitted >= threshold;
}

/** What CCF answers a member who submitted a share (`message` of the response). */
export function submissionMessage(submitted: number, threshold: number, fullKey: boolean): string {
  const message = fullKey ? 'Full recovery key successfully submitted' : `${submitted}/${threshold} recovery shares successfully submitted`;
  return completesRecoveryShares(submitted, threshold, fullKey) ? `${message}\nEnd of recovery procedure initiated` : message;
}
