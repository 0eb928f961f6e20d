import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createEVM } from '@ethereumjs/evm';
import { hexToBytes } from '@ethereumjs/util';
import { ANALYSED_CODE_BYTES_MAX, CodeAnalysisCache, ENTRY_OVERHEAD_BYTES, installCodeAnalysisCache } from '../../src/ethereum/code-analysis-cache.js';

const TABLE = {};

test('an analysis is made once per code, fork table and EIP-8024 setting', () => {
  const cache = new CodeAnalysisCache();
  let made = 0;
  const analyse = () => ({ made: ++made });
  const code = Uint8Array.of(0x60, 0x01, 0x56);
  const first = cache.get(TABLE, false, code, analyse);
  assert.equal(cache.get(TABLE, false, Uint8Array.from(code), analyse), first, 'the same bytes in another array');
  assert.equal(made, 1);
  assert.notEqual(cache.get(TABLE, true, code, analyse), first, 'with EIP-8024');
  assert.notEqual(cache.get({}, false, code, analyse), first, 'another fork');
  assert.notEqual(cache.get(TABLE, false, Uint8Array.of(0x60, 0x01, 0x57), analyse), first, 'other code');
  assert.equal(made, 4);
  // A view into a larger buffer is keyed by its own bytes only.
  const framed = Uint8Array.of(0xff, 0x60, 0x01, 0x56, 0xff).subarray(1, 4);
  assert.equal(cache.get(TABLE, false, framed, analyse), first);
});

test('past its size the cache drops the code it kept first, each analysis counted with its overhead; it keeps no code larger than itself', () => {
  // Each key: the table's number, the EIP-8024 character, then the code: 4 bytes of code cost 6 + the overhead.
  const entry = 6 + ENTRY_OVERHEAD_BYTES;
  const cache = new CodeAnalysisCache(2 * entry);
  let made = 0;
  const analyse = () => ({ made: ++made });
  const [a, b, c] = [1, 2, 3].map((byte) => new Uint8Array(4).fill(byte)) as [Uint8Array, Uint8Array, Uint8Array];
  cache.get(TABLE, false, a, analyse);
  cache.get(TABLE, false, b, analyse);
  assert.equal(cache.bytes, 2 * entry);
  cache.get(TABLE, false, c, analyse);
  assert.equal(cache.bytes, 2 * entry, 'a dropped for c');
  assert.equal(made, 3);
  cache.get(TABLE, false, b, analyse);
  cache.get(TABLE, false, c, analyse);
  assert.equal(made, 3, 'b and c kept');
  cache.get(TABLE, false, a, analyse);
  assert.equal(made, 4, 'a analysed again');
  const large = new Uint8Array(2 * entry);
  cache.get(TABLE, false, large, analyse);
  cache.get(TABLE, false, large, analyse);
  assert.equal(made, 6, 'code larger than the cache is analysed each time');
  assert.ok(cache.bytes <= 2 * entry);
});

test('many small codes stay within the size, the overhead counted: 100,000 one-byte codes keep a few thousand analyses', () => {
  const cache = new CodeAnalysisCache();
  for (let i = 0; i < 100_000; i++) cache.get(TABLE, false, Uint8Array.of(i & 0xff, i >> 8, i >> 16), () => ({}));
  assert.ok(cache.bytes <= ANALYSED_CODE_BYTES_MAX);
  assert.ok(cache.bytes > ANALYSED_CODE_BYTES_MAX - ENTRY_OVERHEAD_BYTES - 16, 'full');
});

test("EthereumJS's interpreter takes its analyses from the cache, and jumps are judged as without it", async () => {
  const cache = await installCodeAnalysisCache();
  assert.equal(await installCodeAnalysisCache(), cache, 'installed once');
  const evm = await createEVM();
  // PUSH1 4, JUMP, INVALID, JUMPDEST, then return the word 1.
  const jumps = hexToBytes('0x600456fe5b600160005260206000f3');
  // PUSH1 4, JUMP to the 0x5b inside PUSH1 0x5b's data: not a JUMPDEST.
  const intoPushData = hexToBytes('0x600456605b00');
  const before = cache.bytes;
  for (let run = 0; run < 2; run++) {
    const ok = await evm.runCode({ code: jumps, gasLimit: 100_000n });
    assert.equal(ok.exceptionError, undefined, `run ${run}`);
    assert.equal(BigInt(`0x${Buffer.from(ok.returnValue).toString('hex')}`), 1n);
    const bad = await evm.runCode({ code: intoPushData, gasLimit: 100_000n });
    assert.match(String(bad.exceptionError?.error), /^invalid JUMP/, `run ${run}`);
    assert.equal(cache.bytes, before + jumps.length + intoPushData.length + 2 * (2 + ENTRY_OVERHEAD_BYTES), `run ${run}: both codes kept once`);
  }
});

test('init code is analysed each time it runs, not kept', async () => {
  const cache = await installCodeAnalysisCache();
  const evm = await createEVM();
  // Init code that jumps over an INVALID, then returns no runtime code.
  const init = hexToBytes('0x600456fe5b60006000f3');
  const before = cache.bytes;
  const result = await evm.runCall({ data: init, gasLimit: 1_000_000n });
  assert.equal(result.execResult.exceptionError, undefined);
  assert.ok(result.createdAddress !== undefined);
  assert.equal(cache.bytes, before);
});
