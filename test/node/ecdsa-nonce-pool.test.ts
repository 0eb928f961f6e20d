// The nonce pool's worker thread: nothing at first (the signer signs whole), then nonces of the
// curve asked for, each different and usable once, refilled as they are taken; closing ends the
// worker and the pool hands out nothing more.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../../src/crypto/hash.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { generateKeyPair, loadPrivateKey, signDigest, verifyDigest } from '../../src/crypto/signing.js';
import { EcdsaNoncePool } from '../../src/node/ecdsa-nonce-pool.js';
import type { EcdsaNonce } from '../../src/crypto/ecdsa-nonce.js';
import { until } from '../support/until.js';

test('the pool fills from its worker, hands each nonce out once, refills, and stops on close', async () => {
  const pool = new EcdsaNoncePool();
  try {
    assert.equal(pool.take('P-384'), undefined, 'nothing is ready before the worker answers');
    const taken: EcdsaNonce[] = [];
    await until('nonces from the worker', 20_000, async () => {
      const nonce = pool.take('P-384');
      if (nonce !== undefined) taken.push(nonce);
      return taken.length >= 10 ? true : undefined;
    });
    assert.ok(taken.every((n) => n.curve === 'P-384'));
    assert.equal(new Set(taken.map((n) => n.r)).size, taken.length, 'every nonce is a new one');
    assert.ok(pool.handedOutMs > 0, 'the worker time behind the nonces is counted');

    const pair = generateKeyPair('P-384');
    const key = loadPrivateKey(pair.privateKeyPem);
    const digest = sha256(utf8('root'));
    const signature = signDigest(key, digest, 'der', taken[0]);
    assert.equal(verifyDigest(pair.publicKeyPem, digest, signature), true);

    const p256 = await until('a nonce of the other curve', 20_000, async () => pool.take('P-256'));
    assert.equal(p256.curve, 'P-256');
  } finally {
    await pool.close();
  }
  assert.equal(pool.take('P-384'), undefined, 'a closed pool hands out nothing');
});
