// Reads over blocks that hold many logs each spend their request's time as an EVM run does: a log
// scan reads receipts in place and looks at the clock within a block, so a tiny time budget ends
// eth_getLogs with -32005 (and a filter poll before that block) instead of letting it run on;
// eth_feeHistory reads gas used without the logs, and past its time answers the newest blocks read.
// The clock moves only when read, so each test knows how far its scan gets. A query's logs count
// against the response bound by the size of their JSON.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethereumMethods } from '../../src/ethereum/eth-methods.js';
import type { LogRecord } from '../../src/ethereum/ethereum-maps.js';
import { requestScope, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { logJsonBytes } from '../../src/ethereum/log-scan.js';
import { logObjects } from '../../src/ethereum/rpc-objects.js';
import { TestChain, appendLogBlocks } from './harness.js';
import { MemoryBackend } from './memory-backend.js';

const LOGS_PER_BLOCK = 5_000;
const TOPIC = `0x${'09'.repeat(32)}`;

/** `count` empty logs from address 0x77…, each with topic 0x09…. */
function logs(count: number): LogRecord[] {
  return Array.from({ length: count }, () => ({ address: new Uint8Array(20).fill(0x77), topics: [new Uint8Array(32).fill(9)], data: new Uint8Array(0) }));
}

/** A chain, its methods, and a clock that moves `msPerRead` each time it is read; `addBlocks` appends blocks 1 to 4 of 5,000 logs each. */
async function setup(): Promise<{ methods: JsonRpcMethods; clock: { ms: number; msPerRead: number }; addBlocks: () => Promise<void> }> {
  const chain = await TestChain.create();
  const clock = { ms: 0, msPerRead: 0 };
  const methods = ethereumMethods(new MemoryBackend(chain), chain.context, { clientVersion: 'Coco/test', nowMs: () => (clock.ms += clock.msPerRead) });
  return { methods, clock, addBlocks: () => appendLogBlocks(chain, 4, () => logs(LOGS_PER_BLOCK), 1_000_000n) };
}

type Failure = Error & { code?: number };

test('a block of many logs cannot keep eth_getLogs past its time: the clock is looked at within the block', async () => {
  const { methods, clock, addBlocks } = await setup();
  await addBlocks();
  const query = { fromBlock: '0x1', toBlock: '0x4', topics: [`0x${'11'.repeat(32)}`] };
  assert.deepEqual(await methods.eth_getLogs!([query], requestScope()), [], 'nothing matches: every log is read');
  // 1 ms per look: 3 ms last to the 3,072nd log of block 1. Before, the clock was looked at every 256 blocks only.
  clock.msPerRead = 1;
  const scope = requestScope(3);
  await assert.rejects(
    methods.eth_getLogs!([query], scope),
    (error: Failure) => error.code === -32005 && /^query timeout: the scan of blocks 1 to 4 used up this request's execution time \(ethereum.max_execution_time_ms\) at block 1: narrow the block range$/.test(error.message),
  );
  assert.equal(scope.time.remainingMs, -2, 'the scan took its time, one look past the end, from the request');
});

test('a filter poll that runs out of time within a block returns the blocks before it, and the next poll goes on from there', async () => {
  const { methods, clock, addBlocks } = await setup();
  const id = await methods.eth_newFilter!([{ topics: [TOPIC] }], requestScope());
  await addBlocks();
  clock.msPerRead = 1;
  assert.deepEqual(await methods.eth_getFilterChanges!([id], requestScope(3)), [], 'out of time in block 1: nothing, and the filter stays before it');
  clock.msPerRead = 0;
  // 10,000 logs a request: blocks 1 and 2, then 3 and 4.
  const blockNumbers = async () => new Set(((await methods.eth_getFilterChanges!([id], requestScope())) as { blockNumber: string }[]).map((log) => log.blockNumber));
  assert.deepEqual(await blockNumbers(), new Set(['0x1', '0x2']));
  assert.deepEqual(await blockNumbers(), new Set(['0x3', '0x4']));
  assert.deepEqual(await blockNumbers(), new Set());
});

test("eth_feeHistory reads each block's gas used without its logs; past its time it answers the newest blocks it read", async () => {
  const { methods, clock, addBlocks } = await setup();
  await addBlocks();
  const full = (await methods.eth_feeHistory!(['0x4', 'latest'], requestScope())) as { oldestBlock: string; gasUsedRatio: number[] };
  assert.equal(full.oldestBlock, '0x1');
  assert.deepEqual(full.gasUsedRatio, [1 / 30, 1 / 30, 1 / 30, 1 / 30]);
  // 1 ms per look, a look before each block after the newest: 1 ms covers blocks 4 and 3. Before, all four were read whatever the time.
  clock.msPerRead = 1;
  const scope = requestScope(1);
  const history = (await methods.eth_feeHistory!(['0x4', 'latest', [50]], scope)) as { oldestBlock: string; gasUsedRatio: number[]; baseFeePerGas: string[]; reward: string[][] };
  assert.equal(history.oldestBlock, '0x3');
  assert.deepEqual(history.gasUsedRatio, [1 / 30, 1 / 30]);
  assert.equal(history.baseFeePerGas.length, 3, 'one more than the blocks: the next block');
  assert.equal(history.reward.length, 2);
  assert.ok(scope.time.remainingMs < 0, 'the read took its time from the request');
});

test('a log is charged the bytes of its JSON, computed from its parts', () => {
  const hash = new Uint8Array(32).fill(5);
  for (const topicCount of [0, 1, 4]) {
    for (const dataLength of [0, 1, 1000]) {
      for (const [number, timestamp, index] of [[0n, 0n, 0], [16n, 1_700_000_000n, 15], [2n ** 63n, 2n ** 40n, 20_000]] as const) {
        const log = { address: new Uint8Array(20).fill(1), topics: Array.from({ length: topicCount }, () => new Uint8Array(32).fill(2)), data: new Uint8Array(dataLength).fill(3) };
        const [object] = logObjects(hash, { status: 1, gasUsed: 0n, contractAddress: undefined, logs: [log] }, { blockNumber: number, blockHash: hash, timestamp });
        object!.logIndex = `0x${index.toString(16)}`;
        assert.equal(logJsonBytes(log, index, number, timestamp), JSON.stringify(object).length, `${topicCount} topics, ${dataLength} bytes of data, block ${number}, log ${index}`);
      }
    }
  }
});

test("a query's logs count against the request's response bound by the size of their JSON", async () => {
  const chain = await TestChain.create();
  const methods = ethereumMethods(new MemoryBackend(chain), chain.context, { clientVersion: 'Coco/test' });
  await appendLogBlocks(chain, 3, () => [{ address: new Uint8Array(20).fill(0x77), topics: [new Uint8Array(32).fill(9)], data: new Uint8Array(32).fill(1) }]);
  const query = { fromBlock: '0x1', toBlock: '0x3' };
  const answer = JSON.stringify(await methods.eth_getLogs!([query], requestScope()));
  // Before, each log was charged 1,024 bytes and twice its data, twice this one's JSON, and the answer was refused.
  assert.equal(JSON.stringify(await methods.eth_getLogs!([query], { ...requestScope(), responseBytesRemaining: answer.length })), answer);
  await assert.rejects(methods.eth_getLogs!([query], { ...requestScope(), responseBytesRemaining: answer.length - 100 }), (error: Failure) => error.code === -32005 && /bytes of logs/.test(error.message));
});
