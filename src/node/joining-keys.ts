// A joiner's keys, kept from before its first join request until it seals its secrets (which hold
// them too): a joiner that stops after members trusted it, before it could seal, asks again with the
// same identity, and the service gets the voter it trusted back, rather than a Trusted node that
// never answers (counted in every majority) and a newcomer refused on the address it still holds.
// Readable by the node's user only, as the sealed secrets are.

import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { KeyPair } from '../crypto/signing.js';
import { CocoError } from '../errors.js';
import { writeFileDurably } from './durable-file.js';

export interface JoiningKeys {
  nodeKeyPair: KeyPair;
  encryptionKeyPair: KeyPair;
}

interface JoiningKeysFile {
  node_private_key: string;
  node_public_key: string;
  node_encryption_private_key: string;
  node_encryption_public_key: string;
}

/** Where a joiner whose secrets are sealed in `sealedSecretsFile` keeps its keys until then. */
export function joiningKeysPath(sealedSecretsFile: string): string {
  return sealedSecretsFile.replace(/(\.json)?$/, '.joining.json');
}

export function writeJoiningKeys(path: string, keys: JoiningKeys): void {
  const file: JoiningKeysFile = {
    node_private_key: keys.nodeKeyPair.privateKeyPem,
    node_public_key: keys.nodeKeyPair.publicKeyPem,
    node_encryption_private_key: keys.encryptionKeyPair.privateKeyPem,
    node_encryption_public_key: keys.encryptionKeyPair.publicKeyPem,
  };
  writeFileDurably(path, JSON.stringify(file));
}

export function readJoiningKeys(path: string): JoiningKeys | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<JoiningKeysFile>;
    const fields = [file.node_private_key, file.node_public_key, file.node_encryption_private_key, file.node_encryption_public_key];
    if (!fields.every((field) => typeof field === 'string')) throw new Error('a key is missing');
    return {
      nodeKeyPair: { privateKeyPem: file.node_private_key!, publicKeyPem: file.node_public_key! },
      encryptionKeyPair: { privateKeyPem: file.node_encryption_private_key!, publicKeyPem: file.node_encryption_public_key! },
    };
  } catch (error) {
    throw new CocoError('JoiningKeysUnreadable', `cannot read the keys this node joined with before, ${path}: ${(error as Error).message}; remove it to join under a new identity (members then remove_node the old one if they had trusted it)`);
  }
}

/** Once the secrets are sealed, with the keys. */
export function removeJoiningKeys(path: string): void {
  rmSync(path, { force: true });
}
