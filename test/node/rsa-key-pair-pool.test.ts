// RSA key pairs made on a worker thread for ccf.crypto.generateRsaKeyPair: a call waits for one at
// most as long as it is allowed (and never past the pool's own bound), a pair made too late goes to
// the next call, pairs of a shape are made ahead after its first use, each handed out once and
// replaced; the shape used longest ago is dropped past the limit; a stopped pool hands out nothing.

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

test('a call that may wait gets a pair made for it; then pairs of its shape are ready, each handed out once and replaced', async (t) => {
  const pool = new RsaKeyPairPool(WAIT_MS);
  t.after(() => pool.stop());
  const first = pool.take(2048, 65537, WAIT_MS);
  assert.ok(first !== undefined, 'the call waited for the worker');
  assertPair(first, 2048, 65537);
  await until('four pairs ready', WAIT_MS, async () => (pool.readyCount(2048, 65537) >= 4 ? true : undefined));
  const taken: PemKeyPair[] = [];
  for (let i = 0; i < 4; i++) taken.push(pool.take(2048, 65537, 0)!);
  for (const pair of taken) assertPair(pair, 2048, 65537);
  assert.equal(new Set([first, ...taken].map((p) => p.privateKey)).size, 5, 'every pair is a new one');
  assert.equal(pool.readyCount(2048, 65537), 0);
  await until('the pairs taken to be replaced', WAIT_MS, async () => (pool.readyCount(2048, 65537) >= 1 ? true : undefined));
  const next = pool.take(2048, 65537, 0)!;
  assert.ok(!taken.some((p) => p.privateKey === next.privateKey), 'a replacement is not one handed out before');
});

test('a call that may not wait long enough gets none, and the pair made meanwhile goes to the next call; the pool\'s own bound caps any wait', async (t) => {
  const pool = new RsaKeyPairPool(WAIT_MS);
  t.after(() => pool.stop());
  assert.equal(pool.take(4096, 3, 0), undefined, 'no time to wait: none');
  const made = await until('the pair made for it', WAIT_MS, async () => pool.take(4096, 3, 0));
  assertPair(made, 4096, 3);

  // A 4096-bit pair takes far longer than a millisecond to make.
  const bounded = new RsaKeyPairPool(1);
  t.after(() => bounded.stop());
  assert.equal(bounded.take(4096, 65537, Infinity), undefined, 'the pool waits no longer than its bound, whatever the call may');
});

test('past four shapes the one used longest ago is dropped, and a stopped pool hands out nothing', async () => {
  const pool = new RsaKeyPairPool(WAIT_MS);
  try {
    pool.take(2048, 65537, 0);
    await until('a pair ready', WAIT_MS, async () => (pool.readyCount(2048, 65537) >= 1 ? true : undefined));
    for (const exponent of [3, 17, 257]) pool.take(2048, exponent, 0);
    assert.ok(pool.readyCount(2048, 65537) >= 1, 'four shapes fit');
    pool.take(2048, 65539, 0);
    assert.equal(pool.readyCount(2048, 65537), 0, 'the fifth shape drops the one used longest ago');
    await until('a pair of the newest shape', WAIT_MS, async () => (pool.readyCount(2048, 65539) >= 1 ? true : undefined));
  } finally {
    await pool.stop();
  }
  assert.equal(pool.take(2048, 65539, WAIT_MS), undefined, 'a stopped pool hands out nothing');
});

test('a shape prepared ahead has pairs ready before any call asks for one, and a call that may not wait then gets one', async (t) => {
  const pool = new RsaKeyPairPool(WAIT_MS);
  t.after(() => pool.stop());
  pool.prepare(1024, 65537);
  await until('a prepared pair ready', WAIT_MS, async () => (pool.readyCount(1024, 65537) >= 1 ? true : undefined));
  const pair = pool.take(1024, 65537, 0);
  assert.ok(pair !== undefined, 'ready without waiting');
  assertPair(pair, 1024, 65537);
});
