import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Bloom } from '@ethereumjs/vm';
import { BLOOM_BYTES, logsBloom } from '../../src/ethereum/logs-bloom.js';
import type { LogRecord } from '../../src/ethereum/ethereum-maps.js';

function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 97 + i * 31 + ((seed * i) >> 3)) & 0xff);
}

describe('logsBloom', () => {
  it('is 256 zero bytes for no logs', () => {
    assert.deepEqual(logsBloom([]), new Uint8Array(BLOOM_BYTES));
  });

  it('sets the bits EthereumJS sets for every address and topic', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const logs: LogRecord[] = Array.from({ length: seed % 4 }, (_, l) => ({
        address: bytes(20, seed * 10 + l),
        topics: Array.from({ length: (seed + l) % 5 }, (__, t) => bytes(32, seed * 100 + l * 10 + t)),
        data: bytes(seed % 7, seed),
      }));
      const reference = new Bloom();
      for (const log of logs) for (const item of [log.address, ...log.topics]) reference.add(item);
      const bloom = logsBloom(logs);
      assert.deepEqual(bloom, reference.bitvector, `seed ${seed}`);
      const check = new Bloom(bloom);
      for (const log of logs) for (const item of [log.address, ...log.topics]) assert.ok(check.check(item));
    }
  });

  it('does not depend on log data', () => {
    const log = { address: bytes(20, 1), topics: [bytes(32, 2)], data: bytes(64, 3) };
    assert.deepEqual(logsBloom([log]), logsBloom([{ ...log, data: new Uint8Array(0) }]));
    assert.notDeepEqual(logsBloom([log]), new Uint8Array(BLOOM_BYTES));
  });
});
