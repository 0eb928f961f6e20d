// CCF entity IDs: 64 lowercase hex digits of a SHA-256. Members and users are identified by their
// certificate (SHA-256 of its DER, = `openssl x509 -fingerprint -sha256`), nodes by their public key
// (SHA-256 of the SPKI DER), so a node keeps its ID when its certificate is renewed.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { CocoError } from '../errors.js';
import { sha256Hex } from './hash.js';
import { publicKeyDer } from './signing.js';
import { certificateDer, parseCertificate } from './x509.js';

/** Member/user ID of a certificate given as PEM or DER. */
export function certificateId(pemOrDer: string | Uint8Array): string {
  return sha256Hex(certificateDer(pemOrDer));
}

/**
 * Node ID of a public key: from a public key, private key or certificate PEM, or from SPKI or
 * certificate DER bytes.
 */
export function publicKeyId(pemOrDer: string | Uint8Array): string {
  if (typeof pemOrDer === 'string') return sha256Hex(publicKeyDer(pemOrDer));
  return sha256Hex(spkiDerOf(pemOrDer));
}

function spkiDerOf(der: Uint8Array): Uint8Array {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(der.buffer, der.byteOffset, der.byteLength), format: 'der', type: 'spki' });
  } catch {
    try {
      return parseCertificate(der).publicKeyDer;
    } catch (cause) {
      throw new CocoError('InvalidKey', 'expected DER of a SubjectPublicKeyInfo or of an X.509 certificate', { cause });
    }
  }
  // Re-encode so that the ID is that of the canonical DER, as OpenSSL (and CCF) would write it.
  return key.export({ type: 'spki', format: 'der' });
}
