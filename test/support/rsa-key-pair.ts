// An RSA-2048 key pair made synchronously, for test fixtures that build nodes synchronously.

import { generateKeyPairSync } from 'node:crypto';
import type { KeyPair } from '../../src/crypto/signing.js';

export function rsaKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}
