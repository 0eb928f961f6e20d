// Self-signed certificates of RSA keys, made by the openssl CLI (Coco's X.509 code issues EC
// certificates only): what identity providers publish in a JWK's x5c, with the key's own n/e.

import { X509Certificate, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openssl, withTempFiles } from './openssl.js';

export interface RsaCertificate {
  /** The certificate as a JWK's x5c entry: base64 DER. */
  x5c: string;
  /** The key's public JWK members (kty, n, e). */
  jwk: JsonWebKey;
  /** The key as Coco and CCF store a JWT signing key: base64 SPKI DER. */
  spkiBase64: string;
}

export function rsaCertificate(bits: number): RsaCertificate {
  return withTempFiles({}, (dir) => {
    const made = openssl(['req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', '-subj', '/CN=idp', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    if (made.status !== 0) throw new Error(`openssl could not make an RSA-${bits} certificate: ${made.stderr}`);
    const certificate = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
    return {
      x5c: certificate.raw.toString('base64'),
      jwk: certificate.publicKey.export({ format: 'jwk' }),
      spkiBase64: certificate.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    };
  });
}
