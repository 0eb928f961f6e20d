// Ledger secret rotation as CCF does it. A rekey transaction (governance's `trigger_ledger_rekey`,
// or removing an active recovery member) writes a new ledger secret to
// `public:ccf.internal.encrypted_ledger_secrets`, encrypted with RSA-OAEP to the encryption key of
// every Trusted node (CCF's `{node_id: [{version, encrypted_secret, ...}]}`). Each node applying
// that transaction, the primary included, decrypts its own copy; the secret applies from the next
// seqno, so the rekey transaction itself is still sealed with the previous secret. Nodes that join
// later receive every secret with their join answer.

import { fromBase64, toBase64 } from '../crypto/bytes.js';
import { rsaOaepDecrypt, rsaOaepEncrypt } from '../crypto/rsa-oaep.js';
import { CocoError } from '../errors.js';
import { decodeJson, encodeJson, readServiceInfo, type NodeInfo } from '../governance/builtin-tables.js';
import { sameCertificateKey } from '../crypto/x509.js';
import type { Store } from '../kv/store.js';
import { readNow } from './service-nodes.js';
import type { Transaction } from '../kv/transaction.js';
import type { MapChanges } from '../kv/write-set.js';
import type { LedgerSecrets } from '../ledger/ledger-secrets.js';
import { SINGLETON_KEY, singletonWrite } from '../ledger/signature.js';

export const ENCRYPTED_LEDGER_SECRETS_MAP = 'public:ccf.internal.encrypted_ledger_secrets';

/** CCF's EncryptedLedgerSecret; `version` is set only during recovery, which Coco does not do. */
interface EncryptedLedgerSecret {
  version: number | null;
  /** Base64, as CCF's JSON writes byte vectors. */
  encrypted_secret: string;
}

type LedgerSecretsForNodes = Record<string, EncryptedLedgerSecret[]>;

/**
 * Writes `secret` into `tx` for every Trusted node in `nodes`. A Trusted node without an encryption
 * key (started by a Coco that did not publish one) could not read what follows, so the rekey is
 * refused, naming it.
 */
export function writeLedgerSecretForNodes(tx: Transaction, secret: Uint8Array, nodes: ReadonlyMap<string, NodeInfo>): void {
  const forNodes: LedgerSecretsForNodes = {};
  for (const [id, info] of nodes) {
    if (info.status !== 'Trusted') continue;
    if (info.encryption_pub_key === undefined) {
      throw new CocoError('NodeWithoutEncryptionKey', `node ${id} published no encryption key, so it could not receive a new ledger secret; retire it (remove_node) and join a node in its place before rekeying`);
    }
    forNodes[id] = [{ version: null, encrypted_secret: toBase64(rsaOaepEncrypt(info.encryption_pub_key, secret)) }];
  }
  tx.map(ENCRYPTED_LEDGER_SECRETS_MAP).set(SINGLETON_KEY, encodeJson(forNodes));
}

export interface LedgerSecretReceiver {
  nodeId: string;
  /** The node's RSA encryption private key (PEM); undefined for a node that never published one. */
  encryptionPrivateKeyPem: string | undefined;
  secrets: LedgerSecrets;
}

/**
 * Keeps the node's ledger secrets in step with the transaction at `seqno` (its public maps), as it
 * is applied. A rekey makes its new secret applicable from `seqno + 1`, decrypting this node's
 * copy; a node absent from the rekey must already hold that secret (it joined later and received
 * it), otherwise it could not read what follows, and that throws. Any other transaction of the
 * node's own service (`inOwnService`: the state after it records this node's service identity)
 * proves that a secret this node holds from `seqno + 1` came from a rekey that was rolled back (a
 * node restarted without the unsigned end of its ledger seals such a secret): it is dropped. In a
 * previous service's history, such a secret is the one a disaster recovery made for the recovered
 * service, which starts right after that service's last signature.
 */
export function receiveLedgerSecret(receiver: LedgerSecretReceiver, seqno: number, publicMaps: readonly MapChanges[], inOwnService: () => boolean): void {
  const { secrets } = receiver;
  const fromSeqno = seqno + 1;
  const value = singletonWrite(publicMaps, ENCRYPTED_LEDGER_SECRETS_MAP);
  if (value === undefined) {
    if (secrets.latestFromSeqno >= fromSeqno && secrets.has(fromSeqno) && inOwnService()) secrets.rollback(seqno - 1);
    return;
  }
  const mine = decodeJson<LedgerSecretsForNodes>(value, ENCRYPTED_LEDGER_SECRETS_MAP)[receiver.nodeId]?.at(-1);
  if (mine === undefined || receiver.encryptionPrivateKeyPem === undefined) {
    if (secrets.has(fromSeqno)) return;
    throw new CocoError('LedgerSecretMissing', `the rekey at seqno ${seqno} sent this node no ledger secret, and it holds none from seqno ${fromSeqno}, so it cannot read the ledger after it`);
  }
  secrets.add({ fromSeqno, key: rsaOaepDecrypt(receiver.encryptionPrivateKeyPem, fromBase64(mine.encrypted_secret)) });
}

/**
 * Whether `store` records `serviceCertPem`'s key as the service's identity: the node's own service,
 * not a previous one whose history a recovered service's ledger holds.
 */
export function recordsServiceIdentity(store: Store, serviceCertPem: string): boolean {
  const recorded = readNow(store, readServiceInfo)?.cert;
  return recorded !== undefined && sameCertificateKey(recorded, serviceCertPem);
}

