// RSA-OAEP with SHA-256 (and MGF1 with SHA-256), as CCF wraps keys for RSA holders: a new ledger
// secret for each node's encryption key on a rekey, and `ccf.crypto.wrapKey` for apps.

import { constants, createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, publicEncrypt, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CocoError } from '../errors.js';
import { plainBytes } from './bytes.js';
import { parsedKey, type KeyPair } from './signing.js';

/** CCF's size for node and member encryption keys. */
export const RSA_ENCRYPTION_KEY_BITS = 2048;

const generateRsa = promisify(generateKeyPair);

/** A new RSA key pair (PEM: SPKI and PKCS#8), generated off the event loop (~100 ms for 2048 bits). */
export async function generateRsaKeyPair(bits = RSA_ENCRYPTION_KEY_BITS): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

function oaep(key: KeyObject, label: Uint8Array | undefined) {
  if (key.asymmetricKeyType !== 'rsa') throw new CocoError('InvalidKey', `RSA-OAEP needs an RSA key, got a ${key.asymmetricKeyType ?? 'unknown'} key`);
  return {
    key,
    padding: constants.RSA_PKCS1_OAEP_PADDING,
    oaepHash: 'sha256',
    ...(label !== undefined && label.length > 0 ? { oaepLabel: label } : {}),
  };
}

/** Encrypts `data` (at most the modulus size less 66 bytes) to an RSA public key (PEM or parsed). */
export function rsaOaepEncrypt(publicKey: KeyObject | string, data: Uint8Array, label?: Uint8Array): Uint8Array {
  const key = typeof publicKey === 'string' ? parsedKey(() => createPublicKey(publicKey), 'a PEM RSA public key') : publicKey;
  return plainBytes(publicEncrypt(oaep(key, label), data));
}

/** Decrypts what rsaOaepEncrypt made; a wrong key, wrong label or altered ciphertext throws UnwrapFailed. */
export function rsaOaepDecrypt(privateKey: KeyObject | string, encrypted: Uint8Array, label?: Uint8Array): Uint8Array {
  const key = typeof privateKey === 'string' ? parsedKey(() => createPrivateKey(privateKey), 'a PEM RSA private key') : privateKey;
  try {
    return plainBytes(privateDecrypt(oaep(key, label), encrypted));
  } catch (cause) {
    throw new CocoError('UnwrapFailed', 'RSA-OAEP unwrapping failed: wrong key, wrong label or tampered data', { cause });
  }
}
