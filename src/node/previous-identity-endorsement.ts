// CCF's endorse_previous_identity, in the transaction that opens a service: a new service endorses
// its own key from its creation on (a self-endorsement, its epoch open); a recovered one endorses
// the key of the service it recovered (the previous endorsement's endorsing key), for the epoch
// from where that one began to the last transaction it signed, with that signature's Merkle root
// as the recovery recorded it, and names the previous endorsement's version, so the table's values
// chain back to the first service.

import { fromHex } from '../crypto/bytes.js';
import { publicKeyDer, type KeyPair } from '../crypto/signing.js';
import { CocoError, invariant } from '../errors.js';
import { decodeJson, readServiceInfo, SINGLETON } from '../governance/builtin-tables.js';
import type { Transaction } from '../kv/transaction.js';
import { lastSignedBefore, recoveryBeginAfter } from '../ledger/endorsement-chain.js';
import {
  decodeEndorsementRecord,
  encodeEndorsementRecord,
  PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP,
  signIdentityEndorsement,
  type IdentityEndorsement,
} from '../ledger/identity-endorsement.js';
import { parseTxId } from '../ledger/tx-id.js';
import { PREVIOUS_SERVICE_LAST_SIGNED_ROOT_MAP } from './recovery-create.js';

/** Writes the endorsement by `serviceKeyPair`, the service's, issued at `issuedAtSeconds` (its CWT iat). */
export function endorsePreviousIdentity(tx: Transaction, serviceKeyPair: KeyPair, issuedAtSeconds: number): void {
  const createTxId = readServiceInfo(tx)?.current_service_create_txid;
  if (createTxId === undefined) throw new CocoError('InvalidState', 'the service cannot endorse its identity: its service information has no current_service_create_txid');
  const table = tx.map(PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP);
  const stored = table.get(SINGLETON);
  const endorsingKey = publicKeyDer(serviceKeyPair.publicKeyPem);
  if (stored === undefined) {
    const epochBegin = parseTxId(createTxId);
    const endorsement = signIdentityEndorsement({ serviceKey: serviceKeyPair.privateKeyPem, endorsedKey: endorsingKey, epochBegin, issuedAtSeconds });
    table.set(SINGLETON, encodeEndorsementRecord({ endorsement, endorsingKey, epochBegin }));
    return;
  }
  const previous = decodeEndorsementRecord(stored);
  const root = tx.map(PREVIOUS_SERVICE_LAST_SIGNED_ROOT_MAP).get(SINGLETON);
  if (root === undefined) {
    throw new CocoError('InvalidState', `Failed to sign previous service identity: no last signed root (${PREVIOUS_SERVICE_LAST_SIGNED_ROOT_MAP} is not set: the service was not recovered)`);
  }
  const epochBegin = previous.epochEnd === undefined ? previous.epochBegin : recoveryBeginAfter(previous.epochEnd);
  const epochEnd = lastSignedBefore(parseTxId(createTxId));
  const previousVersion = table.getVersionOfPreviousWrite(SINGLETON);
  invariant(previousVersion !== undefined, 'a stored endorsement has the version of its write');
  const record: IdentityEndorsement = {
    endorsement: signIdentityEndorsement({
      serviceKey: serviceKeyPair.privateKeyPem,
      endorsedKey: previous.endorsingKey,
      epochBegin,
      epochEnd,
      lastSignedRoot: fromHex(decodeJson<string>(root, PREVIOUS_SERVICE_LAST_SIGNED_ROOT_MAP)),
      issuedAtSeconds,
    }),
    endorsingKey,
    epochBegin,
    epochEnd,
    previousVersion: Number(previousVersion),
  };
  table.set(SINGLETON, encodeEndorsementRecord(record));
}
