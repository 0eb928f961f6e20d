// The transaction that opens a recovered service, once its members' shares restored the previous
// service's ledger secrets and its private state was replayed (CCF's end of private recovery):
// the submitted shares are dropped, the previous service's last secret is recorded encrypted under
// the recovered service's own (which applies from the seqno after the last recovered signature),
// recovery shares of that secret are issued to the recovery members, the service is Open, and its
// key endorses the previous service's identity.

import type { KeyPair } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import { encodeJson, readServiceInfo, SINGLETON, Tables } from '../governance/builtin-tables.js';
import { issueRecoveryShares, recordPreviousLedgerSecret } from '../governance/recovery-shares.js';
import { clearSubmittedRecoveryShares } from '../governance/submitted-shares.js';
import type { Transaction } from '../kv/transaction.js';
import type { LedgerSecret } from '../ledger/ledger-secrets.js';
import { endorsePreviousIdentity } from './previous-identity-endorsement.js';

export interface RecoveryOpenInput {
  /** The recovered service's own ledger secret. */
  latest: LedgerSecret;
  /** The previous service's last ledger secret, as the shares restored it. */
  previous: LedgerSecret;
  /** The recovered service's key pair, which endorses the previous identity. */
  serviceKeyPair: KeyPair;
  /** The endorsement's CWT iat: seconds since the epoch. */
  issuedAtSeconds: number;
}

export function writeRecoveryOpen(tx: Transaction, input: RecoveryOpenInput): void {
  const info = readServiceInfo(tx);
  if (info?.status !== 'WaitingForRecoveryShares') {
    throw new CocoError('InvalidState', `a recovered service opens from WaitingForRecoveryShares, but it is ${info?.status ?? 'not started'}`);
  }
  clearSubmittedRecoveryShares(tx);
  recordPreviousLedgerSecret(tx, input.latest.key, input.previous, input.latest.fromSeqno);
  // As CCF's, shares issued at the opening name no stored previous secret: the record above is it.
  issueRecoveryShares(tx, input.latest.key, { rekeying: true });
  const version = tx.map(Tables.serviceInfo).getVersionOfPreviousWrite(SINGLETON);
  tx.map(Tables.serviceInfo).set(SINGLETON, encodeJson({ ...info, status: 'Open', ...(version !== undefined && { previous_service_identity_version: Number(version) }) }));
  endorsePreviousIdentity(tx, input.serviceKeyPair, input.issuedAtSeconds);
}
