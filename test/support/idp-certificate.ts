// Self-signed certificates made by the openssl CLI (Coco's X.509 code issues P-256/P-384/Ed25519
// ones only): what identity providers publish in a JWK's x5c, with the key's own JWK members.

import { X509Certificate, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl, withTempFiles } from './openssl.js';

export interface IdpCertificate {
  /** The certificate as a JWK's x5c entry: base64 DER. */
  x5c: string;
  /** The key's public JWK members (kty, n and e, or crv, x and y). */
  jwk: JsonWebKey;
  /** The key as Coco and CCF store a JWT signing key: base64 SPKI DER. */
  spkiBase64: string;
}

/** A certificate of a new key made by `openssl req -x509` with `keyOptions` (`-newkey ...`). */
export function opensslCertificate(keyOptions: string[]): IdpCertificate {
  return withTempFiles({}, (dir) => {
    const made = openssl(['req', '-x509', ...keyOptions, '-nodes', '-subj', '/CN=idp', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    if (made.status !== 0) throw new Error(`openssl could not make a certificate with ${keyOptions.join(' ')}: ${made.stderr}`);
    const certificate = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    return {
      x5c: certificate.raw.toString('base64'),
      jwk: certificate.publicKey.export({ format: 'jwk' }),
      spkiBase64: certificate.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    };
  });
}

export function rsaCertificate(bits: number): IdpCertificate {
  return opensslCertificate(['-newkey', `rsa:${bits}`]);
}

/** A certificate of an EC key on `curve` (OpenSSL's name: prime256v1, secp384r1, secp256k1, ...). */
export function ecCertificate(curve: string): IdpCertificate {
  return opensslCertificate(['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${curve}`]);
}
