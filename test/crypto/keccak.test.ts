import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex, utf8 } from '../../src/crypto/bytes.js';
import { KECCAK256_BYTES, keccak256 } from '../../src/crypto/keccak.js';

describe('keccak256', () => {
  it('gives the Keccak-256 digests Ethereum uses (not NIST SHA3-256)', () => {
    assert.equal(toHex(keccak256(new Uint8Array(0))), 'c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
    assert.equal(toHex(keccak256(utf8('abc'))), '4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45');
    // The topic of every ERC-20 Transfer event.
    assert.equal(toHex(keccak256(utf8('Transfer(address,address,uint256)'))), 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef');
  });

  it('agrees with the pure-JavaScript implementation on every length around the 136-byte rate', () => {
    const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let length = 0; length <= 420; length++) {
      const input = data.subarray(0, length);
      assert.deepEqual(keccak256(input), keccak_256(input), `length ${length}`);
    }
  });

  it('hashes exactly the bytes of a view into a larger buffer', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const view = data.subarray(37, 37 + 150);
    assert.deepEqual(keccak256(view), keccak_256(view));
  });

  it('starts each digest afresh and returns a new 32-byte array each time', () => {
    const first = keccak256(utf8('abc'));
    keccak256(new Uint8Array(1000));
    const again = keccak256(utf8('abc'));
    assert.equal(first.length, KECCAK256_BYTES);
    assert.deepEqual(again, first);
    again.fill(0);
    assert.notDeepEqual(again, keccak256(utf8('abc')));
    assert.notDeepEqual(first, again);
  });
});
