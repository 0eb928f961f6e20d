// Block parameters as geth reads them: quantities with geth's refusals (leading zeros, longer than
// their bits: 64 for block numbers, indexes and counts), block selectors (tags, numbers, hashes,
// EIP-1898 objects), and a log query's fromBlock and toBlock, which take numbers and tags only.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonRpcError, handleJsonRpc } from '../../src/ethereum/json-rpc.js';
import { parseBlockNumberOrTag, parseBlockSelector, parseQuantity } from '../../src/ethereum/rpc-values.js';
import { TestChain } from './harness.js';
import { MemoryBackend, methodsFor } from './memory-backend.js';

const HASH = `0x${'ab'.repeat(32)}`;

/** The -32602 message of `parse(value)`, or its result. */
function outcome<T>(parse: () => T): T | string {
  try {
    return parse();
  } catch (error) {
    assert.ok(error instanceof JsonRpcError && error.code === -32602, String(error));
    return error.message;
  }
}

test('quantities: 256 bits for values, 64 for block numbers, indexes and counts; geth\'s words past them', () => {
  const table: Array<[unknown, 64 | 256, bigint | RegExp]> = [
    ['0x0', 64, 0n],
    ['0xffffffffffffffff', 64, 2n ** 64n - 1n],
    ['0x10000000000000000', 64, /^n: hex number > 64 bits$/],
    ['0x10000000000000000', 256, 2n ** 64n],
    [`0x1${'0'.repeat(64)}`, 256, /^n: hex number > 256 bits$/],
    ['0x01', 64, /^n: hex number with leading zero digits/],
    ['12', 64, /^n must be a hex quantity like "0x1a", got "12"$/],
    [12, 64, /^n must be a hex quantity/],
  ];
  for (const [value, bits, expected] of table) {
    const result = outcome(() => parseQuantity(value, 'n', bits));
    if (typeof expected === 'bigint') assert.equal(result, expected, String(value));
    else assert.match(result as string, expected, String(value));
  }
});

test('a block selector takes tags, 64-bit numbers, hashes and EIP-1898 objects; a log query\'s range takes tags and numbers only', () => {
  assert.deepEqual(parseBlockSelector(undefined, 'block'), { tag: 'latest' });
  assert.deepEqual(parseBlockSelector('0x10', 'block'), { number: 16n });
  assert.deepEqual(parseBlockSelector({ blockNumber: '0x10' }, 'block'), { number: 16n });
  assert.ok('hash' in parseBlockSelector(HASH, 'block'));
  assert.equal(outcome(() => parseBlockSelector('0x10000000000000000', 'block')), 'block: hex number > 64 bits');

  assert.deepEqual(parseBlockNumberOrTag(undefined, 'filter.fromBlock'), { tag: 'latest' });
  assert.deepEqual(parseBlockNumberOrTag('earliest', 'filter.fromBlock'), { tag: 'earliest' });
  assert.deepEqual(parseBlockNumberOrTag('0x10', 'filter.fromBlock'), { number: 16n });
  assert.match(outcome(() => parseBlockNumberOrTag(HASH, 'filter.fromBlock')) as string, /^filter.fromBlock must be a block number or a tag, not a block hash: .* give filter.blockHash alone$/);
  assert.match(outcome(() => parseBlockNumberOrTag({ blockNumber: '0x1' }, 'filter.toBlock')) as string, /^filter.toBlock must be a block number or a tag/);
  assert.equal(outcome(() => parseBlockNumberOrTag('0x10000000000000000', 'filter.toBlock')), 'filter.toBlock: hex number > 64 bits');
});

test('over JSON-RPC: a block hash as fromBlock and a block number past 64 bits are refused with -32602, not read as some block', async () => {
  const methods = methodsFor(new MemoryBackend(await TestChain.create()));
  const reply = async (method: string, ...params: unknown[]) =>
    JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as { result?: unknown; error?: { code: number; message: string } };
  const error = async (method: string, ...params: unknown[]) => (await reply(method, ...params)).error;
  const genesis = (await reply('eth_getBlockByNumber', '0x0', false)).result as { hash: string };
  assert.equal((await error('eth_getLogs', { fromBlock: genesis.hash }))?.code, -32602, 'before: the block of that hash, as a number');
  assert.equal((await error('eth_newFilter', { toBlock: genesis.hash }))?.code, -32602);
  assert.deepEqual(await error('eth_getBlockByNumber', '0x10000000000000000', false), { code: -32602, message: 'block: hex number > 64 bits' });
  assert.deepEqual(await error('eth_getLogs', { toBlock: '0x10000000000000000' }), { code: -32602, message: 'filter.toBlock: hex number > 64 bits' });
  assert.deepEqual(await error('eth_getTransactionByBlockNumberAndIndex', '0x0', '0x10000000000000000'), { code: -32602, message: 'index: hex number > 64 bits' });
});
