// Checks a caller's identity when a client is made, not at its first request: a certificate that
// is no certificate, or a key that is not its certificate's (or that is locked by a passphrase),
// would otherwise surface as a TLS or signature refusal from the service, far from the mistake.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { certificateDer } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { requestAlgorithmOf, type ExternalSigner } from './external-signing.js';

/** PKCS#8 `ENCRYPTED PRIVATE KEY`, or a traditional (SEC1, PKCS#1) PEM with an encryption header. */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|^Proc-Type:[ \t]*4,ENCRYPTED/m;

/** Whether `pem` is a private key locked by a passphrase, which Coco never asks for. */
export function isEncryptedPrivateKey(pem: string): boolean {
  return ENCRYPTED_PEM.test(pem);
}

/** Throws 'InvalidCertificate' unless `pem` is a PEM certificate; `name` is the option that carried it. */
export function checkCertificate(pem: unknown, name: string): void {
  if (typeof pem !== 'string') throw new CocoError('InvalidCertificate', `${name} must be PEM text, got ${typeof pem}`);
  try {
    certificateDer(pem);
  } catch (cause) {
    throw new CocoError('InvalidCertificate', `${name} is not a PEM certificate: ${(cause as Error).message}`, { cause });
  }
}

/** Throws 'InvalidKey' for a key given as something else than PEM text, or encrypted. */
export function checkPrivateKey(pem: unknown, name: string): void {
  if (typeof pem !== 'string') throw new CocoError('InvalidKey', `${name} must be PEM text, got ${typeof pem}`);
  if (isEncryptedPrivateKey(pem)) {
    throw new CocoError(
      'InvalidKey',
      `${name} is an encrypted private key, and Coco takes no passphrase: pass it decrypted (openssl pkey -in KEY -out NAME_privk.pem), or leave it locked and sign with an ExternalSigner ({ certPem, sign }) that uses it`,
    );
  }
}

/** Whether `keyPem` (a PEM private key: one that does not parse throws) is the private key of `certPem`, whatever its kind. */
export function isKeyOfCertificate(certPem: string, keyPem: string): boolean {
  return createPublicKey(certPem).equals(createPublicKey(createPrivateKey(keyPem)));
}

/**
 * Throws unless `certPem` is a certificate and `keyPem` its private key, of any kind TLS takes (RSA
 * too: a user's TLS identity signs no request; what signs is checked where it signs); names are the
 * options that carried them.
 */
export function checkIdentity(certPem: string, keyPem: string, names: { cert: string; key: string }): void {
  checkCertificate(certPem, names.cert);
  checkPrivateKey(keyPem, names.key);
  let matches: boolean;
  try {
    matches = isKeyOfCertificate(certPem, keyPem);
  } catch (cause) {
    throw new CocoError('InvalidKey', `${names.key} is not a PEM private key: ${(cause as Error).message}`, { cause });
  }
  if (!matches) {
    throw new CocoError('InvalidKey', `${names.key} is not the private key of ${names.cert}; pass the key generated with the certificate (NAME_privk.pem for NAME_cert.pem)`);
  }
}

/** Throws unless `signer` has a certificate whose key signs requests, and a sign function; `name` is the option. */
export function checkExternalSigner(signer: ExternalSigner, name: string): void {
  checkCertificate(signer?.certPem, `${name}.certPem`);
  if (typeof signer.sign !== 'function') {
    throw new CocoError('InvalidArgument', `${name}.sign must be a function (request) => Promise<signature bytes>, got ${typeof signer.sign}`);
  }
  requestAlgorithmOf(signer.certPem);
}
