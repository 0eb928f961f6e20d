// RSA key pairs made ahead for ccf.crypto.generateRsaKeyPair: none for a shape's first use, then
// valid pairs of exactly that shape, each handed out once and replaced; the shape used longest ago
// is dropped past the limit; a stopped pool hands out nothing more.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import { RsaKeyPairPool } from '../../src/node/rsa-key-pair-pool.js';
import type { PemKeyPair } from '../../src/js/ccf-crypto.js';
import { until } from '../support/until.js';

const WAIT_MS = 60_000;

function assertPair(pair: PemKeyPair, bits: number, exponent: number): void {
  const details = createPrivateKey(pair.privateKey).asymmetricKeyDetails;
  assert.equal(details?.modulusLength, bits);
  assert.equal(details?.publicExponent, BigInt(exponent));
  assert.match(pair.publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
  assert.match(pair.privateKey, /^-----BEGIN PRIVATE KEY-----\n/);
  const secret = Buffer.from('a key to wrap');
  const wrapped = publicEncrypt({ key: createPublicKey(pair.publicKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
  assert.deepEqual(privateDecrypt({ key: pair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped), secret, 'the public key is the private key\'s');
}

test('a shape gets pairs ready after its first use, each handed out once and replaced', async (t) => {
  const pool = new RsaKeyPairPool();
  t.after(() => pool.stop());
  assert.equal(pool.take(2048, 65537), undefined, 'nothing is ready on first use: that call generates its own');
  await until('four pairs ready', WAIT_MS, async () => (pool.readyCount(2048, 65537) >= 4 ? true : undefined));
  const taken: PemKeyPair[] = [];
  for (let i = 0; i < 4; i++) taken.push(pool.take(2048, 65537)!);
  for (const pair of taken) assertPair(pair, 2048, 65537);
  assert.equal(new Set(taken.map((p) => p.privateKey)).size, 4, 'every pair is a new one');
  assert.equal(pool.readyCount(2048, 65537), 0);
  await until('the pairs taken to be replaced', WAIT_MS, async () => (pool.readyCount(2048, 65537) >= 1 ? true : undefined));
  const next = pool.take(2048, 65537)!;
  assert.ok(!taken.some((p) => p.privateKey === next.privateKey), 'a replacement is not one handed out before');

  assert.equal(pool.take(3072, 3), undefined, 'another shape starts empty');
  const other = await until('a pair of the other shape', WAIT_MS, async () => pool.take(3072, 3));
  assertPair(other, 3072, 3);
});

test('past four shapes the one used longest ago is dropped, and a stopped pool hands out nothing', async () => {
  const pool = new RsaKeyPairPool();
  try {
    pool.take(2048, 65537);
    await until('a pair ready', WAIT_MS, async () => (pool.readyCount(2048, 65537) >= 1 ? true : undefined));
    for (const exponent of [3, 17, 257]) pool.take(2048, exponent);
    assert.ok(pool.readyCount(2048, 65537) >= 1, 'four shapes fit');
    pool.take(2048, 65539);
    assert.equal(pool.readyCount(2048, 65537), 0, 'the fifth shape drops the one used longest ago');
    await until('a pair of the newest shape', WAIT_MS, async () => (pool.readyCount(2048, 65539) >= 1 ? true : undefined));
  } finally {
    pool.stop();
  }
  assert.equal(pool.take(2048, 65539), undefined, 'a stopped pool hands out nothing');
});
