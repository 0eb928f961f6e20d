// CCF's Shamir sharing over GF(2^31 - 1): any `threshold` shares rebuild the secret, fewer give
// another value, shares round-trip through CCF's 44-byte form, and bad input is refused.

import assert from 'node:assert/strict';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { decodeShare, encodeShare, recoverSecret, sampleSecretAndShares, shareKey, SHARE_BYTES, type Share } from '../../src/crypto/secret-sharing.js';

const PRIME = 2 ** 31 - 1;

test('any threshold of the shares, in any order, rebuilds the secret and its key; fewer do not', () => {
  const { secret, shares } = sampleSecretAndShares(5, 3);
  assert.deepEqual(shares.map((s) => s.x), [1, 2, 3, 4, 5]);
  for (const limb of [...secret.y, ...shares.flatMap((s) => s.y)]) assert.ok(Number.isInteger(limb) && limb >= 0 && limb < PRIME);
  const subsets: Share[][] = [[shares[0]!, shares[1]!, shares[2]!], [shares[4]!, shares[1]!, shares[3]!], [shares[2]!, shares[0]!, shares[4]!, shares[3]!]];
  for (const subset of subsets) {
    assert.deepEqual(recoverSecret(subset, 3), secret);
    assert.deepEqual(shareKey(recoverSecret(subset, 3)), shareKey(secret));
  }
  // Two shares of a degree-2 polynomial interpolate a line through them: some other value.
  assert.notDeepEqual(recoverSecret([shares[0]!, shares[1]!], 2), secret);
  assert.throws(() => recoverSecret([shares[0]!, shares[1]!], 3), (e: unknown) => e instanceof CocoError && /2 shares cannot recover a secret that needs 3/.test(e.message));
  assert.throws(() => recoverSecret([shares[0]!, shares[0]!, shares[1]!], 3), /same x/);
});

test('a threshold of one gives every member the secret\'s value; each sampling is fresh', () => {
  const { secret, shares } = sampleSecretAndShares(3, 1);
  for (const share of shares) assert.deepEqual(share.y, secret.y);
  assert.notDeepEqual(sampleSecretAndShares(3, 1).secret, secret);
});

test('shares encode as CCF\'s 44 bytes (x, then ten little-endian limbs) and decode back', () => {
  const share: Share = { x: 2, y: [1, 2, 3, 4, 5, 6, 7, 8, 9, PRIME - 1] };
  const bytes = encodeShare(share);
  assert.equal(bytes.length, SHARE_BYTES);
  assert.deepEqual([...bytes.subarray(0, 8)], [2, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual([...bytes.subarray(40)], [0xfe, 0xff, 0xff, 0x7f]);
  assert.deepEqual(decodeShare(bytes), share);
  assert.throws(() => decodeShare(bytes.subarray(1)), /a share is 44 bytes, not 43/);
});

test('the key comes from the secret alone, 32 bytes, different for different secrets', () => {
  const { secret, shares } = sampleSecretAndShares(2, 2);
  assert.equal(shareKey(secret).length, 32);
  assert.notDeepEqual(shareKey(secret), shareKey(sampleSecretAndShares(2, 2).secret));
  assert.throws(() => shareKey(shares[0]!), /not from a partial share/);
});

test('counts and thresholds out of range are refused', () => {
  assert.throws(() => sampleSecretAndShares(0, 1), /number of shares must be 1 to 255/);
  assert.throws(() => sampleSecretAndShares(3, 4), /threshold must be 1 to the number of shares \(3\), not 4/);
  assert.throws(() => sampleSecretAndShares(3, 0), /not 0/);
});
