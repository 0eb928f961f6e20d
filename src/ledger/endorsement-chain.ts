// Verifies a chain of service identity endorsements back from the current service certificate, as
// CCF's network identity subsystem does before it trusts an older service key: each endorsement is
// signed by the key the newer one endorsed (the newest by the current certificate's), says in its
// signed header the epoch its record says, and its epoch ends just before the newer one's begins
// (a recovery starts two views and one seqno past the last signed transaction). What it returns,
// the previous keys and their epochs, is what a receipt signed by an older service verifies with.

import { equalBytes, toHex } from '../crypto/bytes.js';
import { verifyCoseSign1 } from '../crypto/cose-sign1.js';
import { sha256 } from '../crypto/hash.js';
import { derToPem } from '../crypto/pem.js';
import { publicKeyDer } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import { readEndorsementClaims, type IdentityEndorsement } from './identity-endorsement.js';
import { formatTxId, type TxId } from './tx-id.js';

/** A recovered service's first transaction is in this many views past the previous service's last signature (CCF's aft::starting_view_change). */
export const RECOVERY_VIEW_CHANGE = 2;

/** A previous service identity the chain vouches for, and the transactions it signed. */
export interface EndorsedIdentity {
  /** DER SPKI of its key. */
  keyDer: Uint8Array;
  keyPem: string;
  epochBegin: TxId;
  epochEnd: TxId;
}

function invalid(what: string, reason: string): CocoError {
  return new CocoError('EndorsementInvalid', `${what} ${reason}: the endorsement chain does not lead to the service certificate given; read the endorsements again from that service's ledger, or verify against the certificate of the service that signed`);
}

/** A key as messages name it: the SHA-256 of its DER SPKI. */
function keyName(keyDer: Uint8Array): string {
  return `SHA-256 ${toHex(sha256(keyDer))}`;
}

/** The first transaction of the service recovered after one whose last signed transaction is `lastSigned`. */
export function recoveryBeginAfter(lastSigned: TxId): TxId {
  return { view: lastSigned.view + RECOVERY_VIEW_CHANGE, seqno: lastSigned.seqno + 1 };
}

/** The last signed transaction of the service that a recovered service, created at `recoveryBegin`, recovered. */
export function lastSignedBefore(recoveryBegin: TxId): TxId {
  return { view: recoveryBegin.view - RECOVERY_VIEW_CHANGE, seqno: recoveryBegin.seqno - 1 };
}

/** Whether `newerBegin` starts the epoch right after one that ended at `olderEnd` (CCF's verify_endorsements_connected). */
export function epochsConnect(olderEnd: TxId, newerBegin: TxId): boolean {
  const expected = recoveryBeginAfter(olderEnd);
  return newerBegin.view === expected.view && newerBegin.seqno === expected.seqno;
}

/**
 * Verifies `endorsements`, newest first (the value of the endorsement table, then the value its
 * `previousVersion` names, and so on), against `serviceCertPem`; with `serviceCreateTxId` (the
 * current service's current_service_create_txid), also that the newest ends just before it.
 * A self-endorsement (no previousVersion) may only come last: it ends the chain and vouches for
 * no other key. Returns the previous identities newest first; throws CocoError 'EndorsementInvalid'
 * (or 'EndorsementMalformed') naming the first endorsement that fails.
 */
export function verifyEndorsementChain(serviceCertPem: string, endorsements: readonly IdentityEndorsement[], options: { serviceCreateTxId?: TxId } = {}): EndorsedIdentity[] {
  const identities: EndorsedIdentity[] = [];
  let signerKey = publicKeyDer(serviceCertPem);
  let signerName = "the service certificate's key";
  let newerBegin = options.serviceCreateTxId;
  endorsements.forEach((record, i) => {
    const what = `endorsement ${i + 1} of ${endorsements.length} (from ${formatTxId(record.epochBegin)})`;
    const claims = readEndorsementClaims(record.endorsement);
    if (claims.epochBegin !== formatTxId(record.epochBegin) || claims.epochEnd !== (record.epochEnd && formatTxId(record.epochEnd))) {
      throw invalid(what, `signs the epoch ${claims.epochBegin} to ${claims.epochEnd ?? 'open'}, but its record says ${formatTxId(record.epochBegin)} to ${record.epochEnd ? formatTxId(record.epochEnd) : 'open'}`);
    }
    if (!equalBytes(record.endorsingKey, signerKey)) throw invalid(what, `is by the key ${keyName(record.endorsingKey)}, not by ${signerName} (${keyName(signerKey)})`);
    if (!verifyCoseSign1(claims.message, derToPem(record.endorsingKey, 'PUBLIC KEY'))) throw invalid(what, 'has a signature that does not verify with its endorsing key');
    if (record.previousVersion === undefined) {
      if (i !== endorsements.length - 1) throw invalid(what, 'is a self-endorsement (no previous_version) but older endorsements follow it');
      if (!equalBytes(claims.endorsedKey, record.endorsingKey)) throw invalid(what, 'is a self-endorsement (no previous_version) of another key');
      // The first service's own epoch, which the oldest recovery's endorsement covers from its start.
      const first = identities.at(-1);
      if (first !== undefined && formatTxId(first.epochBegin) !== formatTxId(record.epochBegin)) throw invalid(what, `begins at ${formatTxId(record.epochBegin)}, not where the first service's epoch does (${formatTxId(first.epochBegin)})`);
      if (first === undefined && newerBegin !== undefined && formatTxId(newerBegin) !== formatTxId(record.epochBegin)) throw invalid(what, `begins at ${formatTxId(record.epochBegin)}, not at the service's creation (${formatTxId(newerBegin)})`);
      return;
    }
    const epochEnd = record.epochEnd;
    if (epochEnd === undefined) throw invalid(what, 'has no epoch end, though it endorses a previous identity');
    if (epochEnd.seqno < record.epochBegin.seqno) throw invalid(what, `ends (${formatTxId(epochEnd)}) before it begins`);
    if (newerBegin !== undefined && !epochsConnect(epochEnd, newerBegin)) {
      throw invalid(what, `ends at ${formatTxId(epochEnd)}, which is not the last transaction before ${formatTxId(newerBegin)}, where the ${i === 0 ? 'current service' : 'newer endorsement\'s epoch'} begins`);
    }
    let keyPem: string;
    try {
      keyPem = derToPem(claims.endorsedKey, 'PUBLIC KEY');
      publicKeyDer(keyPem);
    } catch {
      throw invalid(what, 'endorses something that is not a public key');
    }
    identities.push({ keyDer: claims.endorsedKey, keyPem, epochBegin: record.epochBegin, epochEnd });
    signerKey = claims.endorsedKey;
    signerName = `the key endorsement ${i + 1} endorsed`;
    newerBegin = record.epochBegin;
  });
  return identities;
}
