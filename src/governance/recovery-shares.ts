// Recovery shares as CCF issues them. A fresh wrapping key, Shamir-split (crypto/secret-sharing.ts)
// into one share per active recovery participant with `recovery_threshold` needed to rebuild it,
// wraps the latest ledger secret (AES-256-GCM, zero IV: the key wraps once); each share goes to its
// member RSA-OAEP-encrypted under the member's encryption key, and recovery owners get the whole
// key. All of it is in `public:ccf.internal.recovery_shares`, so a recovering service could read it
// from the public ledger. When the ledger secret changes, the previous secret is also recorded
// encrypted under the new one (`public:ccf.internal.historical_encrypted_ledger_secret`), so the
// chain of secrets unwinds from the latest. A recovery combines the members' submitted shares
// (submitted-shares.ts) to restore every secret from these (recovered-secrets.ts).

import { fromUtf8, toBase64 } from '../crypto/bytes.js';
import { AES_GCM_IV_BYTES } from '../crypto/aes-gcm.js';
import { sealGcmCipher } from '../crypto/gcm-cipher.js';
import { randomBytes } from '../crypto/random.js';
import { rsaOaepEncrypt } from '../crypto/rsa-oaep.js';
import { encodeShare, sampleSecretAndShares, shareKey } from '../crypto/secret-sharing.js';
import { CocoError } from '../errors.js';
import { decodeJson, encodeJson, readServiceConfig, SINGLETON, Tables, type MemberInfo } from './builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import type { LedgerSecret } from '../ledger/ledger-secrets.js';

export const RECOVERY_SHARES_MAP = 'public:ccf.internal.recovery_shares';
export const HISTORICAL_LEDGER_SECRET_MAP = 'public:ccf.internal.historical_encrypted_ledger_secret';

/** CCF's RecoveryShares, the value of RECOVERY_SHARES_MAP (bytes as base64). */
export interface RecoverySharesInfo {
  /** The latest ledger secret, sealed (GcmCipher, zero IV) under the key the shares rebuild. */
  wrapped_latest_ledger_secret: string;
  /** Member ID → that member's share, RSA-OAEP-encrypted to its encryption key. */
  encrypted_shares: Record<string, string>;
  previous_secret_stored_version?: number;
}

/** CCF's EncryptedLedgerSecretInfo, the value of HISTORICAL_LEDGER_SECRET_MAP (bytes as base64). */
export interface HistoricalLedgerSecret {
  previous_ledger_secret?: {
    /** The previous secret, sealed (GcmCipher, random IV) under the one that replaced it. */
    encrypted_data: string;
    /** The seqno the previous secret applies from. */
    version: number;
    /** The seqno of the write to this table that holds the secret before it. */
    previous_secret_stored_version?: number;
  };
  /** The seqno the secret that replaced it applies from, when the write does not follow from the rekey's. */
  next_version?: number;
}

interface RecoveryMembers {
  participants: [string, string][];
  owners: [string, string][];
}

/** Active members with an encryption key, by recovery role (a key and no role: a participant). */
export function activeRecoveryMembers(tx: Transaction): RecoveryMembers {
  const members: RecoveryMembers = { participants: [], owners: [] };
  const keys = tx.map(Tables.membersEncryptionPublicKeys);
  tx.map(Tables.membersInfo).forEach((value, key) => {
    const info = decodeJson<MemberInfo>(value, Tables.membersInfo);
    const encryptionKey = keys.get(key);
    if (info.status !== 'Active' || encryptionKey === undefined) return;
    const role = info.recovery_role ?? 'Participant';
    if (role === 'Participant') members.participants.push([fromUtf8(key), fromUtf8(encryptionKey)]);
    else if (role === 'Owner') members.owners.push([fromUtf8(key), fromUtf8(encryptionKey)]);
  });
  return members;
}

export function isActiveRecoveryMember(tx: Transaction, memberId: string): boolean {
  const { participants, owners } = activeRecoveryMembers(tx);
  return [...participants, ...owners].some(([id]) => id === memberId);
}

/** Whether recovery shares of the ledger secret are issued (a service opened with recovery members has them). */
export function hasRecoveryShares(tx: Transaction): boolean {
  return tx.map(RECOVERY_SHARES_MAP).has(SINGLETON);
}

/** The member's share as the latest issue encrypted it for them (base64), if it has one. */
export function encryptedShareOf(tx: Transaction, memberId: string): string | undefined {
  const value = tx.map(RECOVERY_SHARES_MAP).get(SINGLETON);
  return value === undefined ? undefined : decodeJson<RecoverySharesInfo>(value, RECOVERY_SHARES_MAP).encrypted_shares[memberId];
}

/**
 * Issues new recovery shares of `latestSecret` to the active recovery members (CCF's shuffle).
 * Returns false when there are none: CCF refuses to open such a service, Coco lets it run without
 * recovery shares (it cannot recover anyway), and drops shares the last ones held. `rekeying`:
 * `tx` itself records the secret before `latestSecret` (a rekey, or the opening of a recovered
 * service, which chains the last secret of the old ledger under the new one).
 */
export function issueRecoveryShares(tx: Transaction, latestSecret: Uint8Array, options: { rekeying?: boolean } = {}): boolean {
  const { participants, owners } = activeRecoveryMembers(tx);
  if (participants.length === 0 && owners.length === 0) {
    if (hasRecoveryShares(tx)) tx.map(RECOVERY_SHARES_MAP).delete(SINGLETON);
    return false;
  }
  const threshold = readServiceConfig(tx)?.recovery_threshold ?? 0;
  if (threshold < 1) throw new CocoError('InvalidRecoveryThreshold', 'the recovery threshold must be set before recovery shares are issued');
  if (participants.length > 0 && threshold > participants.length) {
    throw new CocoError('InvalidRecoveryThreshold', `the recovery threshold ${threshold} is above the ${participants.length} active recovery participants: lower it or add recovery members`);
  }
  if (participants.length === 0 && threshold > 1) {
    throw new CocoError('InvalidRecoveryThreshold', `the recovery threshold ${threshold} cannot be above 1 when only recovery owners hold the key`);
  }
  const { secret, shares } = sampleSecretAndShares(Math.max(participants.length, 1), threshold);
  const encryptedShares: Record<string, string> = {};
  participants.forEach(([id, pem], i) => (encryptedShares[id] = toBase64(rsaOaepEncrypt(pem, encodeShare(shares[i]!)))));
  for (const [id, pem] of owners) encryptedShares[id] = toBase64(rsaOaepEncrypt(pem, encodeShare(secret)));
  // As CCF's shuffle: shares of a secret that a rekey made name the version where the previous one
  // is stored, except those the rekey itself issues (it is storing it).
  const storedAt = options.rekeying === true ? undefined : previousSecretStoredVersion(tx);
  const info: RecoverySharesInfo = {
    wrapped_latest_ledger_secret: toBase64(sealGcmCipher(shareKey(secret), new Uint8Array(AES_GCM_IV_BYTES), latestSecret)),
    encrypted_shares: encryptedShares,
    ...(storedAt !== undefined && { previous_secret_stored_version: storedAt }),
  };
  tx.map(RECOVERY_SHARES_MAP).set(SINGLETON, encodeJson(info));
  return true;
}

/** The version of the write that stored the previous ledger secret, if the latest secret has one. */
function previousSecretStoredVersion(tx: Transaction): number | undefined {
  const table = tx.map(HISTORICAL_LEDGER_SECRET_MAP);
  const value = table.get(SINGLETON);
  if (value === undefined || decodeJson<HistoricalLedgerSecret>(value, HISTORICAL_LEDGER_SECRET_MAP).previous_ledger_secret === undefined) return undefined;
  const version = table.getVersionOfPreviousWrite(SINGLETON);
  return version === undefined ? undefined : Number(version);
}

/**
 * Records, when the ledger secret changes to `latest`, the `previous` one encrypted under it (CCF
 * writes `{next_version}` alone for the first secret). A recovered service opening records the
 * last secret of the old ledger this way, with `latestFromSeqno` its new secret's first seqno.
 */
export function recordPreviousLedgerSecret(tx: Transaction, latest: Uint8Array, previous: LedgerSecret | undefined, latestFromSeqno?: number): void {
  const table = tx.map(HISTORICAL_LEDGER_SECRET_MAP);
  const storedAt = table.getVersionOfPreviousWrite(SINGLETON);
  const value: HistoricalLedgerSecret = previous === undefined
    ? {}
    : {
        previous_ledger_secret: {
          encrypted_data: toBase64(sealGcmCipher(latest, randomBytes(AES_GCM_IV_BYTES), previous.key)),
          version: previous.fromSeqno,
          ...(storedAt !== undefined && { previous_secret_stored_version: Number(storedAt) }),
        },
      };
  table.set(SINGLETON, encodeJson({ ...value, ...(latestFromSeqno !== undefined && { next_version: latestFromSeqno }) }));
}
