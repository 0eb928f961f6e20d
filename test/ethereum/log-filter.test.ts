// What a log filter selects, and its bounds: as geth, a log with fewer topics than the filter has
// positions is not selected, wildcards included; at most 1,000 addresses and 1,000 topics at each of
// at most 4 positions, as geth bounds eth_getLogs and eth_newFilter, refused with geth's words
// before anything is parsed or kept; lists are kept sorted, without repeats, in one buffer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { LOG_FILTER_ITEMS_MAX } from '../../src/ethereum/limits.js';
import { ByteItems } from '../../src/ethereum/log-filter.js';
import { TestChain, appendLogBlocks } from './harness.js';
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

test('as geth, a log with fewer topics than the filter has positions is not selected, wildcards included: in queries and filters', async () => {
  const chain = await TestChain.create();
  const methods = methodsFor(new MemoryBackend(chain));
  const ids = [] as unknown[];
  const cases: Array<[unknown[], number[]]> = [
    [[], [0, 1, 2, 3, 4]],
    [[null], [1, 2, 3, 4]],
    [[[]], [1, 2, 3, 4]],
    [[null, null], [2, 3, 4]],
    [[null, null, null, null], [4]],
    [[null, null, null, items(1, 32)[0]], []],
    [[null, null, null, `0x${'04'.repeat(32)}`], [4]],
  ];
  for (const [topics] of cases) ids.push((await answer(methods, 'eth_newFilter', [{ topics }])).result);
  // Block n + 1 holds one log with n topics 0x0n…, n from 0 to 4.
  await appendLogBlocks(chain, 5, (number) => [{ address: new Uint8Array(20), topics: Array.from({ length: Number(number) - 1 }, () => new Uint8Array(32).fill(Number(number) - 1)), data: new Uint8Array(0) }]);
  const topicCounts = (logs: unknown) => (logs as { topics: string[] }[]).map((log) => log.topics.length);
  for (const [i, [topics, counts]] of cases.entries()) {
    assert.deepEqual(topicCounts((await answer(methods, 'eth_getLogs', [{ fromBlock: '0x0', topics }])).result), counts, `eth_getLogs ${JSON.stringify(topics)}`);
    assert.deepEqual(topicCounts((await answer(methods, 'eth_getFilterChanges', [ids[i]])).result), counts, `eth_getFilterChanges ${JSON.stringify(topics)}`);
  }
});
