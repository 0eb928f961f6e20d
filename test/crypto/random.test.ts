import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { equalBytes } from '../../src/crypto/bytes.js';
import { RANDOM_BYTES_MAX, randomBytes } from '../../src/crypto/random.js';

describe('randomBytes', () => {
  it('returns a plain Uint8Array of the requested length', () => {
    for (const n of [0, 1, 12, 32, RANDOM_BYTES_MAX]) {
      const bytes = randomBytes(n);
      assert.equal(bytes.length, n);
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
    }
  });

  it('returns fresh bytes on every call', () => {
    assert.equal(equalBytes(randomBytes(32), randomBytes(32)), false);
    assert.notDeepEqual(randomBytes(32), new Uint8Array(32));
  });

  it('rejects negative, fractional and oversized lengths with InvalidArgument', () => {
    for (const n of [-1, 1.5, Number.NaN, RANDOM_BYTES_MAX + 1]) {
      assert.throws(() => randomBytes(n), { name: 'CocoError', code: 'InvalidArgument' }, String(n));
    }
  });
});
