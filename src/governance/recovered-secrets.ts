// The ledger secrets of an old ledger, restored from its public tables and the members' shares,
// as CCF's ShareManager restores them: the shares rebuild the wrapping key, which unwraps the
// latest secret of `public:ccf.internal.recovery_shares`; each write to
// `public:ccf.internal.historical_encrypted_ledger_secret`, newest first, then gives the secret
// before the one just restored. A wrong share is found only by the unwrapping's GCM tag.

import { fromBase64 } from '../crypto/bytes.js';
import { openGcmCipher } from '../crypto/gcm-cipher.js';
import { decodeShare, recoverSecret, shareKey, SHARE_BYTES, type Share } from '../crypto/secret-sharing.js';
import { CocoError } from '../errors.js';
import type { LedgerSecret } from '../ledger/ledger-secrets.js';
import { decodeJson } from './builtin-tables.js';
import { HISTORICAL_LEDGER_SECRET_MAP, RECOVERY_SHARES_MAP, type HistoricalLedgerSecret, type RecoverySharesInfo } from './recovery-shares.js';

/** One write to HISTORICAL_LEDGER_SECRET_MAP seen in the old ledger: its seqno and its value as stored. */
export interface HistoricalSecretWrite {
  seqno: number;
  value: Uint8Array;
}

export interface RecoveryInput {
  /** The last value of RECOVERY_SHARES_MAP in the old ledger, as stored (undefined: it has none). */
  recoveryShares: Uint8Array | undefined;
  /** Every write to HISTORICAL_LEDGER_SECRET_MAP in the old ledger, in seqno order. */
  historicalWrites: readonly HistoricalSecretWrite[];
  /** The shares the members submitted, decrypted (submitted-shares.ts `submittedShares`). */
  submittedShares: readonly Uint8Array[];
  /** The old service's recovery threshold. */
  recoveryThreshold: number;
}

/** Every ledger secret of the old ledger with the seqno it applies from, oldest first (for LedgerSecrets). */
export function restoreLedgerSecrets(input: RecoveryInput): LedgerSecret[] {
  const last = input.historicalWrites.at(-1);
  if (last === undefined) {
    throw new CocoError('RecoveryLedgerSecretsMissing', `No recovery ledger secrets: the old ledger holds no write to ${HISTORICAL_LEDGER_SECRET_MAP}, so it was never opened with recovery members and cannot be recovered with shares`);
  }
  if (input.recoveryShares === undefined) {
    throw new CocoError('RecoveryLedgerSecretsMissing', `Failed to retrieve current recovery shares info: the old ledger holds no ${RECOVERY_SHARES_MAP}, so no member holds a share of its latest ledger secret`);
  }
  const info = decodeJson<RecoverySharesInfo>(input.recoveryShares, RECOVERY_SHARES_MAP);
  const wrappingKey = shareKey(combineShares(input.submittedShares, input.recoveryThreshold));
  // As CCF's recovery hook: a write without next_version (a rekey's) starts its secret at the next seqno.
  const latestFromSeqno = decodeJson<HistoricalLedgerSecret>(last.value, HISTORICAL_LEDGER_SECRET_MAP).next_version ?? last.seqno + 1;
  let latest: LedgerSecret = { fromSeqno: latestFromSeqno, key: unwrapLatestSecret(wrappingKey, info.wrapped_latest_ledger_secret) };
  const restored = [latest];
  for (let i = input.historicalWrites.length - 1; i >= 0; i--) {
    const write = input.historicalWrites[i]!;
    const previous = decodeJson<HistoricalLedgerSecret>(write.value, HISTORICAL_LEDGER_SECRET_MAP).previous_ledger_secret;
    // The first secret's write encrypts none before it; a secret can be recorded twice (CCF skips it).
    if (previous === undefined) break;
    if (restored.some((secret) => secret.fromSeqno === previous.version)) continue;
    latest = { fromSeqno: previous.version, key: openPreviousSecret(latest, previous.encrypted_data, write.seqno) };
    restored.push(latest);
  }
  return restored.sort((a, b) => a.fromSeqno - b.fromSeqno);
}

/** The recovery key (x = 0) from the submitted shares: a whole key alone, else `threshold` partial shares. */
function combineShares(submitted: readonly Uint8Array[], threshold: number): Share {
  const partial: Share[] = [];
  for (const bytes of submitted) {
    if (bytes.length !== SHARE_BYTES) {
      throw new CocoError('InvalidRecoveryShare', `Error combining recovery shares: decrypted share of ${bytes.length} bytes is not an ${SHARE_BYTES}-byte long new-style share.`);
    }
    const share = decodeShare(bytes);
    if (share.x === 0) return share;
    partial.push(share);
  }
  if (threshold > partial.length) {
    throw new CocoError('NotEnoughRecoveryShares', `Error combining recovery shares: only ${partial.length} recovery shares were submitted but recovery threshold is ${threshold}`);
  }
  try {
    return recoverSecret(partial, threshold);
  } catch (cause) {
    throw new CocoError('InvalidRecoveryShare', `Error combining recovery shares: ${(cause as Error).message} (two members submitted the same share)`, { cause });
  }
}

function unwrapLatestSecret(wrappingKey: Uint8Array, wrapped: string): Uint8Array {
  try {
    return openGcmCipher(wrappingKey, fromBase64(wrapped));
  } catch (cause) {
    throw new CocoError('InvalidRecoveryShare', 'Unwrapping latest ledger secret failed: the submitted shares do not rebuild the recovery key (a member submitted a share that is not its own, or one of an earlier issue); the members must submit their current shares again', { cause });
  }
}

function openPreviousSecret(secret: LedgerSecret, encryptedData: string, seqno: number): Uint8Array {
  try {
    return openGcmCipher(secret.key, fromBase64(encryptedData));
  } catch (cause) {
    throw new CocoError('DecryptionFailed', `Decryption of previous ledger secret failed: the write at seqno ${seqno} to ${HISTORICAL_LEDGER_SECRET_MAP} is not sealed under the secret applicable from ${secret.fromSeqno}; the old ledger's chain of secrets is broken there`, { cause });
  }
}
