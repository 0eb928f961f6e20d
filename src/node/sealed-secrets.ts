// What a node keeps so that it can restart from its own ledger: the ledger secrets, the service
// identity and its own key (a restarted node keeps its node ID, so it rejoins its configuration).
// On the virtual platform this "sealing" is a file readable only by the node's user: nothing
// hardware-backed protects it (a TEE platform would encrypt it to a key only that TEE can derive).
// Without this file a restart is impossible (disaster recovery instead).

import { existsSync, readFileSync } from 'node:fs';
import { fromBase64, toBase64 } from '../crypto/bytes.js';
import type { KeyPair } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import type { LedgerSecret } from '../ledger/ledger-secrets.js';
import { writeFileDurably } from './durable-file.js';

export interface SealedSecrets {
  ledgerSecrets: LedgerSecret[];
  serviceKeyPair: KeyPair;
  serviceCertPem: string;
  nodeKeyPair: KeyPair;
  /** The RSA key pair rekeys encrypt new ledger secrets to (absent in files of older Cocos). */
  nodeEncryptionKeyPair: KeyPair | undefined;
  /**
   * Set while this node recovers a service and holds none of the previous service's secrets yet:
   * the previous service's last seqno. A node stopped then recovers again; one stopped after the
   * members' shares restored them resumes. (The secrets alone do not tell: restored from a
   * snapshot, the first of them may apply from well after seqno 1.)
   */
  recoveringAfter?: number | undefined;
  /**
   * The identity of the service this node recovered (command.recover's certificate): a restart
   * before the recovered service's first snapshot starts from the previous service's, which it verifies.
   */
  previousServiceCertPem?: string | undefined;
}

interface SealedFile {
  ledger_secrets: { from_seqno: number; key: string }[];
  service_private_key: string;
  service_public_key: string;
  service_certificate: string;
  node_private_key: string;
  node_public_key: string;
  node_encryption_private_key?: string;
  node_encryption_public_key?: string;
  recovering_after?: number;
  previous_service_certificate?: string;
}

export function writeSealedSecrets(path: string, secrets: SealedSecrets): void {
  const file: SealedFile = {
    ledger_secrets: secrets.ledgerSecrets.map((s) => ({ from_seqno: s.fromSeqno, key: toBase64(s.key) })),
    service_private_key: secrets.serviceKeyPair.privateKeyPem,
    service_public_key: secrets.serviceKeyPair.publicKeyPem,
    service_certificate: secrets.serviceCertPem,
    node_private_key: secrets.nodeKeyPair.privateKeyPem,
    node_public_key: secrets.nodeKeyPair.publicKeyPem,
    ...(secrets.nodeEncryptionKeyPair && {
      node_encryption_private_key: secrets.nodeEncryptionKeyPair.privateKeyPem,
      node_encryption_public_key: secrets.nodeEncryptionKeyPair.publicKeyPem,
    }),
    ...(secrets.recoveringAfter !== undefined && { recovering_after: secrets.recoveringAfter }),
    ...(secrets.previousServiceCertPem !== undefined && { previous_service_certificate: secrets.previousServiceCertPem }),
  };
  writeFileDurably(path, JSON.stringify(file));
}

export function readSealedSecrets(path: string): SealedSecrets | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as SealedFile;
    if (typeof file.node_private_key !== 'string') throw new Error('it holds no node key (written by an older Coco)');
    return {
      ledgerSecrets: file.ledger_secrets.map((s) => ({ fromSeqno: s.from_seqno, key: fromBase64(s.key) })),
      serviceKeyPair: { privateKeyPem: file.service_private_key, publicKeyPem: file.service_public_key },
      serviceCertPem: file.service_certificate,
      nodeKeyPair: { privateKeyPem: file.node_private_key, publicKeyPem: file.node_public_key },
      nodeEncryptionKeyPair: typeof file.node_encryption_private_key === 'string' && typeof file.node_encryption_public_key === 'string'
        ? { privateKeyPem: file.node_encryption_private_key, publicKeyPem: file.node_encryption_public_key }
        : undefined,
      ...(typeof file.recovering_after === 'number' && { recoveringAfter: file.recovering_after }),
      ...(typeof file.previous_service_certificate === 'string' && { previousServiceCertPem: file.previous_service_certificate }),
    };
  } catch (error) {
    throw new CocoError('SealedSecretsUnreadable', `cannot read the node's sealed secrets ${path}: ${(error as Error).message}`);
  }
}
