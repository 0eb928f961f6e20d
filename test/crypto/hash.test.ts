import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { SHA256_BYTES, SHA384_BYTES, Sha256Hasher, sha256, sha256Hex, sha384 } from '../../src/crypto/hash.js';

// FIPS 180-2 example digests.
const VECTORS = [
  {
    input: '',
    sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    sha384: '38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b',
  },
  {
    input: 'abc',
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    sha384: 'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
  },
  {
    input: 'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    sha256: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    sha384: '3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b',
  },
];

describe('sha256 / sha384', () => {
  it('match the FIPS 180-2 example digests', () => {
    for (const vector of VECTORS) {
      const input = utf8(vector.input);
      assert.equal(toHex(sha256(input)), vector.sha256, vector.input);
      assert.equal(toHex(sha384(input)), vector.sha384, vector.input);
      assert.equal(sha256Hex(input), vector.sha256, vector.input);
    }
  });

  it('return plain Uint8Arrays of the digest length', () => {
    const d256 = sha256(utf8('abc'));
    const d384 = sha384(utf8('abc'));
    assert.equal(Object.getPrototypeOf(d256), Uint8Array.prototype);
    assert.equal(d256.length, SHA256_BYTES);
    assert.equal(d384.length, SHA384_BYTES);
    assert.deepEqual(d256, fromHex(VECTORS[1]!.sha256));
  });

  it('hash only the viewed bytes of a subarray', () => {
    const padded = utf8('xxabcxx').subarray(2, 5);
    assert.equal(sha256Hex(padded), VECTORS[1]!.sha256);
  });
});

it('hashes data given in pieces to the digest of the whole', () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
  const hasher = new Sha256Hasher();
  for (const [start, end] of [[0, 0], [0, 1], [1, 64], [64, 65_536], [65_536, 100_000]] as const) hasher.update(data.subarray(start, end));
  assert.deepEqual(hasher.digest(), sha256(data));
  assert.equal(toHex(new Sha256Hasher().digest()), VECTORS[0]!.sha256);
});
