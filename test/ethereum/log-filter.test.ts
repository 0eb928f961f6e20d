// What a log filter selects, and its bounds: at most 1,000 addresses and 1,000 topics at each of at
// most 4 positions, as geth bounds eth_getLogs and eth_newFilter, refused with geth's words before
// anything is parsed or kept; lists are kept sorted, without repeats, in one buffer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { LOG_FILTER_ITEMS_MAX } from '../../src/ethereum/limits.js';
import { ByteItems } from '../../src/ethereum/log-filter.js';
import { TestChain } from './harness.js';
import { MemoryBackend, methodsFor } from './memory-backend.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';

async function answer(methods: JsonRpcMethods, method: string, params: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as { result?: unknown; error?: { code: number; message: string } };
}

/** `count` distinct 20-byte addresses (or 32-byte topics with `bytes` 32), in hex. */
function items(count: number, bytes = 20): string[] {
  return Array.from({ length: count }, (_, i) => ethers.zeroPadValue(ethers.toBeHex(i + 1), bytes));
}

test('ByteItems keeps items sorted without repeats and finds them where they lie in other bytes', () => {
  const list = new ByteItems([Uint8Array.of(3, 1), Uint8Array.of(1, 2), Uint8Array.of(3, 1), Uint8Array.of(2, 9)], 2);
  assert.equal(list.count, 3);
  const source = Uint8Array.of(0, 1, 2, 9, 3, 1, 7);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((offset) => list.includes(source, offset)), [false, true, true, false, true, false]);
  assert.equal(new ByteItems([], 2).includes(source, 0), false);
});

test('a filter lists at most 1,000 addresses and 1,000 topics per position, in eth_getLogs and eth_newFilter: geth\'s words past them', async () => {
  const methods = methodsFor(new MemoryBackend(await TestChain.create()));
  const tooMany = { code: -32000, message: 'exceed max addresses or topics per search position' };
  for (const method of ['eth_getLogs', 'eth_newFilter']) {
    assert.deepEqual((await answer(methods, method, [{ address: items(LOG_FILTER_ITEMS_MAX + 1) }])).error, tooMany, method);
    assert.deepEqual((await answer(methods, method, [{ topics: [null, items(LOG_FILTER_ITEMS_MAX + 1, 32)] }])).error, tooMany, method);
    // Counted before parsing: a list past the bound is refused whatever it holds.
    assert.deepEqual((await answer(methods, method, [{ address: new Array(20_000).fill('not an address') }])).error, tooMany, method);
    assert.deepEqual((await answer(methods, method, [{ topics: [[], [], [], [], []] }])).error, { code: -32000, message: 'exceed max topics' }, method);
    assert.equal((await answer(methods, method, [{ address: items(LOG_FILTER_ITEMS_MAX), topics: items(4, 32).map(() => items(LOG_FILTER_ITEMS_MAX, 32)) }])).error, undefined, method);
  }
});
