// Checks a caller's identity when a client is made, not at its first request: a certificate that
// is no certificate, or a key that is not its certificate's, would otherwise surface as a TLS or
// signature refusal from the service, far from the mistake.

import { equalBytes } from '../crypto/bytes.js';
import { publicKeyDer } from '../crypto/signing.js';
import { certificateDer } from '../crypto/x509.js';
import { CocoError } from '../errors.js';
import { requestAlgorithmOf, type ExternalSigner } from './external-signing.js';

/** Throws 'InvalidCertificate' unless `pem` is a PEM certificate; `name` is the option that carried it. */
export function checkCertificate(pem: unknown, name: string): void {
  if (typeof pem !== 'string') throw new CocoError('InvalidCertificate', `${name} must be PEM text, got ${typeof pem}`);
  try {
    certificateDer(pem);
  } catch (cause) {
    throw new CocoError('InvalidCertificate', `${name} is not a PEM certificate: ${(cause as Error).message}`, { cause });
  }
}

/** Throws unless `certPem` is a certificate and `keyPem` its private key; names are the options that carried them. */
export function checkIdentity(certPem: string, keyPem: string, names: { cert: string; key: string }): void {
  checkCertificate(certPem, names.cert);
  if (!equalBytes(publicKeyDer(certPem), publicKeyDer(keyPem))) {
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
