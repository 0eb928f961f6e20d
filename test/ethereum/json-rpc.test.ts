import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeReceipt } from '@ethereumjs/vm';
import { ethers } from 'ethers';
import { toHex } from '../../src/crypto/bytes.js';
import { sha256 } from '../../src/crypto/hash.js';
import { setBalance } from '../../src/ethereum/account-state.js';
import { ethereumMethods } from '../../src/ethereum/eth-methods.js';
import { handleJsonRpc, requestScope, type JsonRpcMethods, type JsonRpcTurns } from '../../src/ethereum/json-rpc.js';
import { FUTURE_NONCES_PER_SENDER_MAX, LOGS_RESULTS_MAX, RESPONSE_BYTES_MAX } from '../../src/ethereum/limits.js';
import { PUSH0_RUNTIME, contracts } from './contracts.js';
import { CHAIN_ID, ETHER, TestChain, appendLogBlocks, wallet } from './harness.js';
import { MemoryBackend, VIEW, methodsFor } from './memory-backend.js';

const alice = wallet(0);
const bob = wallet(1);
const token = new ethers.Interface(contracts().Token.abi as ethers.InterfaceAbi);
const probe = new ethers.Interface(contracts().Probe.abi as ethers.InterfaceAbi);

interface Reply {
  jsonrpc: string;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: string };
}

async function raw(methods: JsonRpcMethods, body: string): Promise<Reply | Reply[] | undefined> {
  const answer = await handleJsonRpc(body, methods);
  return answer === undefined ? undefined : (JSON.parse(answer) as Reply | Reply[]);
}

/** Sends one request; returns its result, or throws its error object. */
async function rpc(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<unknown> {
  const reply = (await raw(methods, JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }))) as Reply;
  assert.equal(reply.jsonrpc, '2.0');
  assert.equal(reply.id, 7);
  if (reply.error !== undefined) throw Object.assign(new Error(reply.error.message), reply.error);
  return reply.result;
}

async function rpcError(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<{ code: number; message: string; data?: string }> {
  const reply = (await raw(methods, JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }))) as Reply;
  assert.ok(reply.error !== undefined, `${method} should fail, got ${JSON.stringify(reply.result)}`);
  return reply.error;
}

async function setup(): Promise<{ chain: TestChain; backend: MemoryBackend; methods: JsonRpcMethods }> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, 100n * ETHER);
  const backend = new MemoryBackend(chain);
  return { chain, backend, methods: methodsFor(backend) };
}

async function sendRaw(chain: TestChain, methods: JsonRpcMethods, signer: ethers.Wallet, request: ethers.TransactionRequest): Promise<string> {
  return (await rpc(methods, 'eth_sendRawTransaction', ethers.hexlify(await chain.sign(signer, request)))) as string;
}

/** Resolves once the node has written `count` more transactions than at `version` (their sends may still wait for commit). */
async function written(chain: TestChain, version: bigint, count = 1): Promise<void> {
  while (chain.store.version < version + BigInt(count)) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Sends a transaction while the test holds commit: resolves once it ran, with its hash and the
 * send's answer, which comes once commit reaches it.
 */
async function sendUncommitted(chain: TestChain, methods: JsonRpcMethods, signer: ethers.Wallet, request: ethers.TransactionRequest): Promise<{ hash: string; answered: Promise<unknown> }> {
  const signed = ethers.hexlify(await chain.sign(signer, request));
  const version = chain.store.version;
  const answered = rpc(methods, 'eth_sendRawTransaction', signed);
  // Settled by the test; a failure still shows where the test awaits it.
  answered.catch(() => undefined);
  await written(chain, version);
  return { hash: ethers.keccak256(signed), answered };
}

describe('JSON-RPC 2.0 protocol', () => {
  test('malformed JSON is a -32700 parse error with a null id', async () => {
    const { methods } = await setup();
    const reply = (await raw(methods, '{"jsonrpc":"2.0","id":1,"method":')) as Reply;
    assert.equal(reply.id, null);
    assert.equal(reply.error?.code, -32700);
  });

  test('an unknown method is -32601, and so is an inherited property name', async () => {
    const { methods } = await setup();
    assert.equal((await rpcError(methods, 'eth_submitWork')).code, -32601);
    assert.equal((await rpcError(methods, 'toString')).code, -32601);
    assert.match((await rpcError(methods, 'eth_submitWork')).message, /eth_submitWork does not exist/);
  });

  test('a method that takes no parameters refuses any with -32602, as geth does', async () => {
    const { methods } = await setup();
    for (const method of ['web3_clientVersion', 'net_version', 'eth_chainId', 'eth_syncing', 'eth_accounts', 'eth_coinbase', 'eth_gasPrice', 'eth_blockNumber', 'net_peerCount']) {
      const error = await rpcError(methods, method, 'x');
      assert.equal(error.code, -32602, method);
      assert.match(error.message, /expected \[\], got 1 parameters/, method);
      assert.notEqual(await rpc(methods, method), undefined, `${method} without parameters`);
    }
  });

  test('invalid requests are -32600; params that are neither an array nor null are -32602', async () => {
    const { methods } = await setup();
    for (const body of ['42', '{"id":1,"method":"eth_chainId"}', '{"jsonrpc":"2.0","id":1,"method":5}', '{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}', '[]']) {
      const reply = (await raw(methods, body)) as Reply;
      assert.equal(reply.error?.code, -32600, body);
    }
    const named = (await raw(methods, '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":{"address":"0x00"}}')) as Reply;
    assert.equal(named.error?.code, -32602);
    // As geth: "params": null is no parameters.
    const none = (await raw(methods, '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":null}')) as Reply;
    assert.equal(none.error, undefined, JSON.stringify(none));
    assert.match(String(none.result), /^0x[0-9a-f]+$/);
  });

  test('a batch answers every element in order, with a per-element error for the bad one', async () => {
    const { methods } = await setup();
    const replies = (await raw(
      methods,
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] },
        { jsonrpc: '2.0', id: 2, method: 'eth_nope', params: [] },
        17,
        { jsonrpc: '2.0', id: 'four', method: 'eth_getBalance', params: ['0x12'] },
        { jsonrpc: '2.0', method: 'eth_chainId', params: [] },
        { jsonrpc: '2.0', id: 5, method: 'net_version' },
      ]),
    )) as Reply[];
    assert.deepEqual(
      replies.map((r) => [r.id, r.result ?? r.error?.code]),
      [
        [1, `0x${CHAIN_ID.toString(16)}`],
        [2, -32601],
        [null, -32600],
        ['four', -32602],
        [5, CHAIN_ID.toString()],
      ],
    );
  });

  test('an id is answered as the request wrote it, also a number a double cannot hold (past 2^53, -0, 1e400), alone or in a batch', async () => {
    const { methods } = await setup();
    const body = (id: string, extra = '') => `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId"${extra}}`;
    for (const id of ['12345678901234567890', '9007199254740993', '-0', '1e400', '1.50', '-18446744073709551615']) {
      const answer = (await handleJsonRpc(body(id), methods))!;
      assert.ok(answer.startsWith(`{"jsonrpc":"2.0","id":${id},"result":"0x`), answer);
    }
    // In a batch, each element's own; an "id" inside params, or a string id, is not taken for it; the last of two ids wins, as in JSON.parse.
    const batch = `[${body('1')}, ${body('12345678901234567891', ',"params":[{"id":99999999999999999999}]')} , ${body('"12345678901234567892"')},{"id":5,"jsonrpc":"2.0","id":98765432109876543210,"method":"eth_chainId"}]`;
    const answers = (await handleJsonRpc(batch, methods))!;
    assert.match(answers, /^\[\{"jsonrpc":"2\.0","id":1,"result"/);
    assert.match(answers, /\},\{"jsonrpc":"2\.0","id":12345678901234567891,"error":\{"code":-32602/);
    assert.match(answers, /\},\{"jsonrpc":"2\.0","id":"12345678901234567892","result"/);
    assert.match(answers, /\},\{"jsonrpc":"2\.0","id":98765432109876543210,"result"/);
  });

  test('notifications get no answer', async () => {
    const { methods } = await setup();
    assert.equal(await raw(methods, '{"jsonrpc":"2.0","method":"eth_chainId","params":[]}'), undefined);
    assert.equal(await raw(methods, '[{"jsonrpc":"2.0","method":"eth_chainId"}]'), undefined);
  });
});

describe('a request is bounded as a whole, however many elements it holds', () => {
  /** Methods that each take `costMs` of a fake clock, and a record of the elements run and the loop's turns. */
  function fakeWork(requestTimeMs: number, costMs: number) {
    const events: string[] = [];
    let nowMs = 0;
    const turns: JsonRpcTurns = { sliceMs: 4, requestTimeMs, nowMs: () => nowMs, nextTurn: async () => void events.push('turn') };
    const methods: JsonRpcMethods = {
      work: async ([name]) => {
        events.push(String(name));
        nowMs += costMs;
        return name;
      },
    };
    return { turns, methods, events, advance: (ms: number) => (nowMs += ms) };
  }
  const batch = (...names: string[]) => JSON.stringify(names.map((name, id) => ({ jsonrpc: '2.0', id, method: 'work', params: [name] })));

  test('a batch gives the event loop a turn between elements once they have worked for a slice', async () => {
    const { turns, methods, events } = fakeWork(1000, 3);
    await handleJsonRpc(batch('a', 'b', 'c', 'd'), methods, turns);
    // a and b use up the 4 ms slice: a turn before c; c and d use up the next one.
    assert.deepEqual(events, ['a', 'b', 'turn', 'c', 'd']);
  });

  test("the elements share one execution time limit; those past it answer as a timed-out call, without running", async () => {
    const { turns, methods, events } = fakeWork(10, 4);
    const replies = JSON.parse((await handleJsonRpc(batch('a', 'b', 'c', 'd'), methods, turns)) as string) as Reply[];
    assert.deepEqual(replies.map((reply) => reply.result ?? reply.error?.code), ['a', 'b', 'c', -32000]);
    assert.match(replies[3]?.error?.message ?? '', /^execution timeout: this request's elements used up its 10 ms/);
    assert.deepEqual(events.filter((event) => event !== 'turn'), ['a', 'b', 'c']);
  });

  /** `methods` and a `send`: send(['wait']) waits (as for an earlier nonce) until send(['free']) runs, later in the batch. */
  function withWaitingSend(methods: JsonRpcMethods, events: string[]): JsonRpcMethods {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    return {
      ...methods,
      send: async ([what], scope) => {
        events.push(String(what));
        if (what === 'free') release();
        else await scope.waitFor(() => released);
        events.push(`${String(what)} done`);
        return what;
      },
    };
  }
  const call = (id: number, method: string, what: string) => ({ jsonrpc: '2.0', id, method, params: [what] });

  test('an element waiting for something done elsewhere lets the next calls of its method start; other elements wait for it; answers keep their order', async () => {
    const { turns, methods, events } = fakeWork(10, 4);
    const waiting = withWaitingSend(methods, events);
    const body = JSON.stringify([call(0, 'send', 'wait'), call(1, 'send', 'free'), call(2, 'work', 'read')]);
    const replies = JSON.parse((await handleJsonRpc(body, waiting, turns)) as string) as Reply[];
    assert.deepEqual(replies.map((reply) => [reply.id, reply.result]), [[0, 'wait'], [1, 'free'], [2, 'read']]);
    assert.deepEqual(events.filter((event) => event !== 'turn'), ['wait', 'free', 'free done', 'wait done', 'read'], 'the read started once both sends were done');
  });

  test("an element's time counts up to its first wait: what the loop runs after that (other requests' work) is not this request's", async () => {
    const { turns, methods, events, advance } = fakeWork(10, 4);
    const awaiting: JsonRpcMethods = {
      ...methods,
      // Works 4 ms, then awaits (its turn among the node's transactions) while the loop runs 100 ms of other work.
      queued: async ([name]) => {
        events.push(String(name));
        advance(4);
        await Promise.resolve();
        advance(100);
        return name;
      },
    };
    const body = JSON.stringify([{ jsonrpc: '2.0', id: 0, method: 'queued', params: ['q'] }, { jsonrpc: '2.0', id: 1, method: 'work', params: ['a'] }]);
    const replies = JSON.parse((await handleJsonRpc(body, awaiting, turns)) as string) as Reply[];
    assert.deepEqual(replies.map((reply) => reply.result ?? reply.error?.message), ['q', 'a'], '8 ms of the 10 were used');
  });

  test('calls of the waiting method go ahead of an element of another method that waits for them: the write it waits on may need them', { timeout: 10_000 }, async () => {
    const { turns, methods, events } = fakeWork(10, 1);
    const waiting = withWaitingSend(methods, events);
    const body = JSON.stringify([call(0, 'work', 'before'), call(1, 'send', 'wait'), call(2, 'work', 'after'), call(3, 'send', 'free'), call(4, 'work', 'last')]);
    const replies = JSON.parse((await handleJsonRpc(body, waiting, turns)) as string) as Reply[];
    assert.deepEqual(replies.map((reply) => reply.result), ['before', 'wait', 'after', 'free', 'last']);
    assert.deepEqual(events.filter((event) => event !== 'turn'), ['before', 'wait', 'free', 'free done', 'wait done', 'after', 'last'], 'the reads after the waiting send started once it was done, in order');
  });

  test('the elements share one response size; past it, the element and those after it answer -32003', async () => {
    const big = 'x'.repeat(RESPONSE_BYTES_MAX / 4);
    const methods: JsonRpcMethods = { big: async () => big, small: async () => 'small' };
    const body = JSON.stringify(['big', 'big', 'big', 'big', 'small'].map((method, id) => ({ jsonrpc: '2.0', id, method })));
    const replies = JSON.parse((await handleJsonRpc(body, methods)) as string) as Reply[];
    assert.deepEqual(replies.map((reply) => (reply.error === undefined ? 'ok' : reply.error.code)), ['ok', 'ok', 'ok', -32003, -32003]);
    assert.deepEqual(replies.map((reply) => reply.id), [0, 1, 2, 3, 4]);
  });

  test("eth_getLogs counts its logs and their bytes against the request's", async () => {
    const { chain, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, { data: ethers.concat([contracts().Token.bytecode, token.encodeDeploy(['T', 'T', 1000n])]) });
    await sendRaw(chain, methods, alice, { to: ((await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string }).contractAddress, data: token.encodeFunctionData('transfer', [bob.address, 1n]) });
    const filter = { fromBlock: '0x0', toBlock: 'latest' };
    const scope = requestScope();
    assert.equal(((await methods.eth_getLogs!([filter], scope)) as unknown[]).length, 2);
    assert.equal(scope.logsRemaining, LOGS_RESULTS_MAX - 2);
    scope.logsRemaining = 3;
    await methods.eth_getLogs!([filter], scope);
    await assert.rejects(methods.eth_getLogs!([filter], scope), (error: Error & { code?: number }) => error.code === -32005 && /more than 10000 results/.test(error.message));
    await assert.rejects(
      methods.eth_getLogs!([filter], { ...requestScope(), responseBytesRemaining: 1000 }),
      (error: Error & { code?: number }) => error.code === -32005 && /bytes of logs/.test(error.message),
    );
  });
});

describe("a log scan is bounded by the request's time, not by a block range", () => {
  const MATCHING_TOPIC = `0x${'09'.repeat(32)}`;
  /** A log from address 0x77…, its one topic 0x09… when `matching`, 0x08… else. */
  const oneLog = (matching: boolean) => ({ address: new Uint8Array(20).fill(0x77), topics: [new Uint8Array(32).fill(matching ? 9 : 8)], data: new Uint8Array(32) });

  async function scanSetup() {
    const chain = await TestChain.create();
    // A clock that moves only when read, by a step the test sets.
    const clock = { nowMs: 0, msPerRead: 0 };
    const methods = ethereumMethods(new MemoryBackend(chain), chain.context, { clientVersion: 'Coco/test', nowMs: () => (clock.nowMs += clock.msPerRead) });
    return { chain, clock, methods };
  }

  test('eth_getLogs covers any range whose scan fits the time; past it, -32005 says how far it got', async () => {
    const { chain, clock, methods } = await scanSetup();
    // Blocks 0 to 10,000: one more than the range a query once had to keep to.
    await appendLogBlocks(chain, 10_000, (number) => [oneLog(number % 1000n === 0n)]);
    const filter = { fromBlock: '0x0', toBlock: 'latest', topics: [MATCHING_TOPIC] };
    const logs = (await methods.eth_getLogs!([filter], requestScope())) as { blockNumber: string }[];
    assert.deepEqual(logs.map((log) => Number(log.blockNumber)), Array.from({ length: 10 }, (_, i) => (i + 1) * 1000));
    // 1 ms per look at the clock, a look per block: 10 ms last 10 blocks.
    clock.msPerRead = 1;
    const scope = requestScope(10);
    await assert.rejects(methods.eth_getLogs!([filter], scope), (error: Error & { code?: number }) => error.code === -32005 && /^query timeout: the scan of blocks 0 to 10000 used up this request's execution time \(ethereum.max_execution_time_ms\) at block 10:/.test(error.message));
    assert.ok(scope.time.remainingMs < 0, 'the scan took its time from the request');
  });

  test('a filter poll returns the logs of the blocks it scanned in time; the next poll goes on from there', async () => {
    const { chain, clock, methods } = await scanSetup();
    const id = await methods.eth_newFilter!([{ topics: [MATCHING_TOPIC] }], requestScope());
    await appendLogBlocks(chain, 1_000, () => [oneLog(true)]);
    clock.msPerRead = 1;
    const first = (await methods.eth_getFilterChanges!([id], requestScope(2))) as { blockNumber: string }[];
    assert.ok(first.length > 0 && first.length < 1_000, `${first.length} logs in the first poll`);
    clock.msPerRead = 0;
    const rest = (await methods.eth_getFilterChanges!([id], requestScope(2))) as { blockNumber: string }[];
    assert.deepEqual([...first, ...rest].map((log) => Number(log.blockNumber)), Array.from({ length: 1_000 }, (_, i) => i + 1));
  });
});

describe('Ethereum methods', () => {
  test('chain and client information', async () => {
    const { methods } = await setup();
    assert.equal(await rpc(methods, 'eth_chainId'), `0x${CHAIN_ID.toString(16)}`);
    assert.equal(await rpc(methods, 'net_version'), CHAIN_ID.toString());
    assert.equal(await rpc(methods, 'web3_clientVersion'), 'Coco/test');
    assert.equal(await rpc(methods, 'eth_syncing'), false);
    assert.deepEqual(await rpc(methods, 'eth_accounts'), []);
    assert.equal(await rpc(methods, 'eth_gasPrice'), '0x0');
    assert.equal(await rpc(methods, 'eth_maxPriorityFeePerGas'), '0x0');
    assert.equal(await rpc(methods, 'eth_blockNumber'), '0x0');
    const genesis = (await rpc(methods, 'eth_getBlockByNumber', 'earliest', false)) as Record<string, unknown>;
    assert.equal(genesis.number, '0x0');
    assert.equal(genesis.baseFeePerGas, '0x0');
    assert.deepEqual(genesis.transactions, []);
    // Prague's header field (EIP-7685), as geth and Hardhat show it for a block without requests.
    assert.equal(genesis.requestsHash, '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('a value transfer: hash, balances, nonce, transaction, receipt and block agree', async () => {
    const { chain, methods } = await setup();
    const hash = await sendRaw(chain, methods, alice, { to: bob.address, value: 5n });
    assert.equal(await rpc(methods, 'eth_getBalance', bob.address, 'latest'), '0x5');
    assert.equal(await rpc(methods, 'eth_getTransactionCount', alice.address, 'pending'), '0x1');
    assert.equal(await rpc(methods, 'eth_blockNumber'), '0x1');
    const tx = (await rpc(methods, 'eth_getTransactionByHash', hash)) as Record<string, unknown>;
    assert.equal(tx.hash, hash);
    assert.equal(tx.from, alice.address.toLowerCase());
    assert.equal(tx.to, bob.address.toLowerCase());
    assert.equal(tx.blockNumber, '0x1');
    assert.equal(tx.type, '0x2');
    const receipt = (await rpc(methods, 'eth_getTransactionReceipt', hash)) as Record<string, unknown>;
    assert.equal(receipt.status, '0x1');
    assert.equal(receipt.gasUsed, '0x5208');
    assert.equal(receipt.blockHash, tx.blockHash);
    assert.equal(receipt.cocoTransactionId, `${VIEW}.${chain.store.version}`);
    const block = (await rpc(methods, 'eth_getBlockByHash', tx.blockHash, false)) as Record<string, unknown>;
    assert.deepEqual(block.transactions, [hash]);
    assert.equal(block.number, '0x1');
    const full = (await rpc(methods, 'eth_getBlockByNumber', '0x1', true)) as { transactions: Record<string, unknown>[] };
    assert.equal(full.transactions[0]?.hash, hash);
    assert.equal(await rpc(methods, 'eth_getBlockByNumber', '0x2', false), null);
  });

  test("a block's transactions by count and index, its receipts, and no uncles, as geth answers them", async () => {
    const { chain, methods } = await setup();
    const hash = await sendRaw(chain, methods, alice, { to: bob.address, value: 5n });
    const blockHash = ((await rpc(methods, 'eth_getTransactionByHash', hash)) as { blockHash: string }).blockHash;
    assert.equal(await rpc(methods, 'eth_getBlockTransactionCountByNumber', '0x1'), '0x1');
    assert.equal(await rpc(methods, 'eth_getBlockTransactionCountByHash', blockHash), '0x1');
    assert.equal(await rpc(methods, 'eth_getBlockTransactionCountByNumber', 'earliest'), '0x0');
    assert.equal(await rpc(methods, 'eth_getBlockTransactionCountByNumber', '0x9'), null);
    const byNumber = (await rpc(methods, 'eth_getTransactionByBlockNumberAndIndex', 'latest', '0x0')) as Record<string, unknown>;
    assert.deepEqual(byNumber, await rpc(methods, 'eth_getTransactionByHash', hash));
    assert.deepEqual(await rpc(methods, 'eth_getTransactionByBlockHashAndIndex', blockHash, '0x0'), byNumber);
    assert.equal(await rpc(methods, 'eth_getTransactionByBlockNumberAndIndex', '0x1', '0x1'), null);
    assert.equal(await rpc(methods, 'eth_getTransactionByBlockHashAndIndex', '0x' + '00'.repeat(32), '0x0'), null);
    assert.deepEqual(await rpc(methods, 'eth_getBlockReceipts', '0x1'), [await rpc(methods, 'eth_getTransactionReceipt', hash)]);
    assert.deepEqual(await rpc(methods, 'eth_getBlockReceipts', 'earliest'), []);
    assert.equal(await rpc(methods, 'eth_getBlockReceipts', '0x9'), null);
    assert.equal(await rpc(methods, 'eth_getUncleCountByBlockNumber', '0x1'), '0x0');
    assert.equal(await rpc(methods, 'eth_getUncleCountByBlockHash', blockHash), '0x0');
    assert.equal(await rpc(methods, 'eth_getUncleCountByBlockNumber', '0x9'), null);
    assert.equal(await rpc(methods, 'eth_getUncleByBlockNumberAndIndex', '0x1', '0x0'), null);
    assert.equal(await rpc(methods, 'eth_getUncleByBlockHashAndIndex', blockHash, '0x0'), null);
    assert.equal((await rpcError(methods, 'eth_getTransactionByBlockNumberAndIndex', '0x1')).code, -32602);
    assert.equal((await rpcError(methods, 'eth_getBlockTransactionCountByHash', '0x12')).code, -32602);
  });

  test('node information: coinbase, mining, hashrate, listening, peers, and web3_sha3', async () => {
    const { chain, backend, methods } = await setup();
    const block = (await rpc(methods, 'eth_getBlockByNumber', 'latest', false)) as { miner: string };
    assert.equal(await rpc(methods, 'eth_coinbase'), block.miner);
    assert.equal(await rpc(methods, 'eth_mining'), false);
    assert.equal(await rpc(methods, 'eth_hashrate'), '0x0');
    assert.equal(await rpc(methods, 'net_listening'), true);
    assert.equal(await rpc(methods, 'net_peerCount'), '0x0', 'no channels: no peers');
    let peers = 2;
    const withPeers = ethereumMethods(backend, chain.context, { clientVersion: 'Coco/test', peerCount: () => peers });
    assert.equal(await rpc(withPeers, 'net_peerCount'), '0x2');
    peers = 1;
    assert.equal(await rpc(withPeers, 'net_peerCount'), '0x1', 'asked again on each call');
    // keccak256("hello world"), as geth's documentation gives it.
    assert.equal(await rpc(methods, 'web3_sha3', '0x68656c6c6f20776f726c64'), '0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad');
    assert.equal((await rpcError(methods, 'web3_sha3', 'hello')).code, -32602);
  });

  test("the Coco transaction of an Ethereum transaction claims it and its outcome: SHA-256(hash ‖ the receipt's consensus encoding)", async () => {
    const { chain, backend, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, { data: ethers.concat([contracts().Token.bytecode, token.encodeDeploy(['T', 'T', 1000n])]) });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    const sent = [
      await sendRaw(chain, methods, alice, { to: bob.address, value: 1n, type: 0, gasPrice: 0n, maxFeePerGas: null, maxPriorityFeePerGas: null }),
      await sendRaw(chain, methods, alice, { to: contractAddress, data: token.encodeFunctionData('transfer', [bob.address, 10n]), type: 1, gasPrice: 0n, maxFeePerGas: null, maxPriorityFeePerGas: null }),
      // More than alice holds: the transfer reverts, and the claims say so.
      await sendRaw(chain, methods, alice, { to: contractAddress, data: token.encodeFunctionData('transfer', [bob.address, 10n ** 30n]), gasLimit: 100_000n }),
    ];
    assert.equal(backend.claims.size, 4, 'one claims digest per Ethereum transaction');
    const statuses: string[] = [];
    for (const hash of [deployHash, ...sent]) {
      const receipt = (await rpc(methods, 'eth_getTransactionReceipt', hash)) as { type: string; status: string; cumulativeGasUsed: string; logsBloom: string; logs: { address: string; topics: string[]; data: string }[]; cocoTransactionId: string };
      statuses.push(receipt.status);
      // EthereumJS's own encoding of the receipt, as its receipts trie holds it.
      const encoded = encodeReceipt(
        {
          status: Number(receipt.status) as 0 | 1,
          cumulativeBlockGasUsed: BigInt(receipt.cumulativeGasUsed),
          bitvector: ethers.getBytes(receipt.logsBloom),
          logs: receipt.logs.map((log) => [ethers.getBytes(log.address), log.topics.map((topic) => ethers.getBytes(topic)), ethers.getBytes(log.data)]),
        },
        Number(receipt.type) as 0 | 1 | 2,
      );
      const seqno = BigInt(receipt.cocoTransactionId.split('.')[1]!);
      assert.equal(toHex(backend.claims.get(seqno)!), toHex(sha256(ethers.getBytes(ethers.concat([hash, encoded])))), `the claims of ${hash}`);
    }
    assert.deepEqual(statuses, ['0x1', '0x1', '0x1', '0x0']);
  });

  test('eth_sendRawTransaction answers once its transaction is Committed on this node: its receipt is there as soon as its hash (as on Hardhat)', { timeout: 20_000 }, async () => {
    const { chain, backend, methods } = await setup();
    backend.holdCommit();
    const { hash, answered } = await sendUncommitted(chain, methods, alice, { to: bob.address, value: 1n });
    let answeredYet = false;
    void answered.then(() => (answeredYet = true), () => undefined);
    // It ran: the node shows it pending, and state reads see it, so the next nonce is already right.
    assert.equal(await rpc(methods, 'eth_getTransactionReceipt', hash), null);
    assert.equal(await rpc(methods, 'eth_blockNumber'), '0x0');
    const pending = (await rpc(methods, 'eth_getTransactionByHash', hash)) as Record<string, unknown>;
    assert.equal(pending.blockNumber, null);
    assert.equal(await rpc(methods, 'eth_getTransactionCount', alice.address, 'pending'), '0x1');
    assert.equal(answeredYet, false, 'no hash before its receipt exists: hardhat-chai-matchers read the receipt once, right after the send');
    backend.committedUpTo = chain.store.version;
    assert.equal(await answered, hash);
    assert.equal(((await rpc(methods, 'eth_getTransactionReceipt', hash)) as Record<string, unknown>).status, '0x1');
    assert.equal(await rpc(methods, 'eth_blockNumber'), '0x1');
  });

  test('sends waiting for commit hold up neither the next transactions nor the reads after them in a batch', { timeout: 20_000 }, async () => {
    const { chain, backend, methods } = await setup();
    await chain.fund(bob.address, ETHER);
    backend.holdCommit();
    const version = chain.store.version;
    const read: string[] = [];
    const watched: JsonRpcMethods = {
      ...methods,
      eth_getTransactionCount: async (params, scope) => (read.push('eth_getTransactionCount'), methods.eth_getTransactionCount!(params, scope)),
      eth_blockNumber: async (params, scope) => (read.push('eth_blockNumber'), methods.eth_blockNumber!(params, scope)),
    };
    const sign = async (signer: ethers.Wallet, nonce: number) => ethers.hexlify(await chain.sign(signer, { to: wallet(3).address, value: 1n, nonce }));
    const batch = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'eth_sendRawTransaction', params: [await sign(alice, 0)] },
      { jsonrpc: '2.0', id: 2, method: 'eth_getTransactionCount', params: [alice.address, 'pending'] },
      { jsonrpc: '2.0', id: 3, method: 'eth_sendRawTransaction', params: [await sign(alice, 1)] },
      { jsonrpc: '2.0', id: 4, method: 'eth_blockNumber', params: [] },
    ]);
    const answered = handleJsonRpc(batch, watched);
    // Another client's send meanwhile.
    const other = rpc(methods, 'eth_sendRawTransaction', await sign(bob, 0));
    await written(chain, version, 3);
    while (read.length < 2) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(read, ['eth_getTransactionCount', 'eth_blockNumber'], 'the reads ran while the sends wait for commit');
    backend.committedUpTo = chain.store.version;
    const replies = JSON.parse((await answered)!) as Reply[];
    assert.deepEqual(replies.map((reply) => reply.error), [undefined, undefined, undefined, undefined]);
    assert.equal(replies[1]!.result, '0x1', 'the read after a send sees it');
    assert.equal(replies[3]!.result, '0x0', 'read before commit moved');
    assert.match((await other) as string, /^0x[0-9a-f]{64}$/);
  });

  test('a send whose transaction an election rolled back says so, and the same signed transaction sent again runs', { timeout: 20_000 }, async () => {
    const { chain, backend, methods } = await setup();
    backend.holdCommit();
    const version = chain.store.version;
    const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 1n }));
    const answered = rpc(methods, 'eth_sendRawTransaction', signed);
    await written(chain, version);
    // The new primary did not hold it: its own first transaction takes the seqno, and commits.
    backend.rollBack(version);
    await backend.writeTransaction(async (tx) => setBalance(tx, chain.context.maps, ethers.getBytes(wallet(5).address), 1n));
    backend.committedUpTo = chain.store.version;
    const hash = ethers.keccak256(signed);
    await assert.rejects(answered, (error: { code?: number; message?: string }) => {
      assert.equal(error.code, -32000);
      assert.equal(error.message, `transaction ${hash} was rolled back by an election (Coco transaction ${VIEW}.${version + 1n} is Invalid): it did not run and its nonce was not used, so send it again`);
      return true;
    });
    assert.equal(await rpc(methods, 'eth_getTransactionByHash', hash), null);
    backend.committedUpTo = undefined;
    assert.equal(await rpc(methods, 'eth_sendRawTransaction', signed), hash);
    assert.equal(((await rpc(methods, 'eth_getTransactionReceipt', hash)) as Record<string, unknown>).status, '0x1');
  });

  test('a send whose transaction is not known Committed in time says it may or may not have run', { timeout: 20_000 }, async () => {
    const chain = await TestChain.create();
    await chain.fund(alice.address, 100n * ETHER);
    const backend = new MemoryBackend(chain);
    const methods = methodsFor(backend, { sendAnswerMs: 50 });
    backend.holdCommit();
    const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 1n }));
    const error = await rpcError(methods, 'eth_sendRawTransaction', signed);
    assert.deepEqual(error, {
      code: -32000,
      message:
        `transaction ${ethers.keccak256(signed)} ran on the primary, but is not Committed within 0.05 s of its arrival (Coco transaction ${VIEW}.${chain.store.version} is Pending): ` +
        'an election may still roll it back, so it may or may not have run; look it up with eth_getTransactionByHash before sending it again',
      data: ethers.keccak256(signed),
    });
  });

  test("a send's time to answer counts from its arrival, its wait for earlier nonces and its run included", { timeout: 20_000 }, async () => {
    const chain = await TestChain.create();
    await chain.fund(alice.address, 100n * ETHER);
    const backend = new MemoryBackend(chain);
    // A clock that reads 0 until the transaction is written and a minute later after that: were the
    // minute counted from the run, the send would wait for the held commit (past the test's timeout).
    const before = chain.store.version;
    const methods = methodsFor(backend, { sendAnswerMs: 60_000, nowMs: () => (chain.store.version > before ? 60_000 : 0) });
    backend.holdCommit();
    const error = await rpcError(methods, 'eth_sendRawTransaction', ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 1n })));
    assert.match(error.message, /is not Committed within 60 s of its arrival \(Coco transaction \d+\.\d+ is Pending\)/);
  });

  test('a send whose turn among the transactions comes after its time to answer does not run, and says so', async () => {
    const chain = await TestChain.create();
    await chain.fund(alice.address, 100n * ETHER);
    const backend = new MemoryBackend(chain);
    // 0 when the send arrives, a minute later when its turn comes.
    let reads = 0;
    const methods = methodsFor(backend, { sendAnswerMs: 60_000, nowMs: () => (reads++ === 0 ? 0 : 60_000) });
    const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 1n }));
    const error = await rpcError(methods, 'eth_sendRawTransaction', signed);
    assert.deepEqual(error, {
      code: -32000,
      message: `transaction ${ethers.keccak256(signed)} did not run: the transactions before it on this node took the 60 s its send answers within (the node is busy); send it again`,
    });
    assert.equal(await rpc(methods, 'eth_getTransactionCount', alice.address, 'latest'), '0x0', 'its nonce is not used');
    assert.equal(await rpc(methods, 'eth_getTransactionByHash', ethers.keccak256(signed)), null);
  });

  test('eth_sendRawTransactionSync answers the receipt once the transaction is Committed (EIP-7966)', async () => {
    const { chain, methods } = await setup();
    const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 5n }));
    const hash = ethers.keccak256(signed);
    const receipt = (await rpc(methods, 'eth_sendRawTransactionSync', signed)) as Record<string, unknown>;
    assert.equal(receipt.transactionHash, hash);
    assert.equal(receipt.status, '0x1');
    assert.deepEqual(receipt, await rpc(methods, 'eth_getTransactionReceipt', hash), 'the receipt eth_getTransactionReceipt answers');
    // After a read in the same batch, which fixed the batch's commit point before this transaction's commit.
    const next = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 6n }));
    const batch = (await raw(methods, JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] },
      { jsonrpc: '2.0', id: 2, method: 'eth_sendRawTransactionSync', params: [next] },
    ]))) as Reply[];
    assert.equal((batch[1]!.result as { transactionHash: string } | null)?.transactionHash, ethers.keccak256(next), 'the receipt, not null');
    // A reverted transaction is a receipt too (status 0), as a send of it is a hash.
    const reverting = ethers.hexlify(await chain.sign(alice, { data: '0x60006000fd', gasLimit: 100_000n }));
    assert.equal(((await rpc(methods, 'eth_sendRawTransactionSync', reverting, '0x3e8')) as Record<string, unknown>).status, '0x0');
  });

  test("eth_sendRawTransactionSync past its timeout answers geth's code 4 with the hash, and refuses a timeout that is no quantity", { timeout: 20_000 }, async () => {
    const { chain, backend, methods } = await setup();
    assert.equal((await rpcError(methods, 'eth_sendRawTransactionSync', '0x00', '0x1', 'more')).code, -32602);
    // As EIP-7966 says, a timeout that is none is the node's (here a quantity of leading zeros, a string of digits, a negative number).
    for (const timeout of ['0x032', '50', -1]) {
      const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 1n }));
      assert.equal(((await rpc(methods, 'eth_sendRawTransactionSync', signed, timeout)) as Record<string, unknown>).status, '0x1', String(timeout));
    }
    backend.holdCommit();
    // A quantity (geth's, 0x32) or a JSON number (EIP-7966's example, viem's): 50 ms.
    const timedOut: string[] = [];
    for (const timeout of ['0x32', 50]) {
      const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 1n }));
      const error = await rpcError(methods, 'eth_sendRawTransactionSync', signed, timeout);
      assert.equal(error.code, 4);
      assert.equal(error.data, ethers.keccak256(signed));
      assert.match(error.message, /^The transaction was added to the transaction pool but wasn't processed in 0\.05s: it ran on the primary, but is not Committed \(Coco transaction \d+\.\d+ is Pending\); /);
      timedOut.push(ethers.keccak256(signed));
    }
    // Commit comes: the transactions were not lost, and their receipts are there.
    backend.committedUpTo = undefined;
    for (const hash of timedOut) assert.equal(((await rpc(methods, 'eth_getTransactionReceipt', hash)) as Record<string, unknown>).status, '0x1');
  });

  test("a batch's reads answer from one commit point: eth_blockNumber never counts a block whose receipt the batch answered null", async () => {
    const { chain, backend, methods } = await setup();
    backend.holdCommit();
    const { hash, answered } = await sendUncommitted(chain, methods, alice, { to: bob.address, value: 1n });
    // The receipt query works 5 ms; in the turn of the event loop after it, commit reaches the transaction.
    let clockMs = 0;
    const timed: JsonRpcMethods = {
      ...methods,
      eth_getTransactionReceipt: async (params, scope) => {
        const receipt = await methods.eth_getTransactionReceipt!(params, scope);
        clockMs += 5;
        return receipt;
      },
    };
    const turns: JsonRpcTurns = { sliceMs: 4, requestTimeMs: Infinity, nowMs: () => clockMs, nextTurn: async () => void (backend.committedUpTo = chain.store.version) };
    // ethers' tx.wait() asks this in one batch; a block number that counted the block would be its last one on an idle chain.
    const batch = JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [hash] },
      { jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] },
    ]);
    const first = JSON.parse((await handleJsonRpc(batch, timed, turns))!) as Reply[];
    assert.deepEqual(first.map((reply) => reply.result), [null, '0x0']);
    const next = JSON.parse((await handleJsonRpc(batch, timed, turns))!) as Reply[];
    assert.equal((next[0]?.result as { blockNumber: string }).blockNumber, '0x1');
    assert.equal(next[1]?.result, '0x1');
    assert.equal(await answered, hash);
  });

  test('refusals carry Ethereum messages under -32000', async () => {
    const { chain, methods } = await setup();
    await sendRaw(chain, methods, alice, { to: bob.address, value: 1n });
    const low = await rpcError(methods, 'eth_sendRawTransaction', ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 2n, nonce: 0 })));
    assert.equal(low.code, -32000);
    assert.match(low.message, /^nonce too low/);
    // Further ahead than may wait for the nonces before it: refused at once.
    const tooFar = FUTURE_NONCES_PER_SENDER_MAX + 2;
    const high = await rpcError(methods, 'eth_sendRawTransaction', ethers.hexlify(await chain.sign(alice, { to: bob.address, nonce: tooFar })));
    assert.equal(high.message, `nonce too high: address ${alice.address.toLowerCase()}, tx: ${tooFar} state: 1: send nonce 1 first`);
    const poor = await rpcError(methods, 'eth_sendRawTransaction', ethers.hexlify(await chain.sign(bob, { to: alice.address, value: 2n })));
    assert.match(poor.message, /^insufficient funds for gas \* price \+ value/);
    const otherChain = await alice.signTransaction({ type: 2, chainId: 1n, nonce: 1, to: bob.address, gasLimit: 21_000n, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });
    const wrong = await rpcError(methods, 'eth_sendRawTransaction', otherChain);
    assert.equal(wrong.message, `invalid chain id for signer: have 1 want ${CHAIN_ID}`);
    const malformed = await rpcError(methods, 'eth_sendRawTransaction', '0x02c5820539');
    assert.equal(malformed.code, -32000);
    assert.match(malformed.message, /^rlp: /);
    const notHex = await rpcError(methods, 'eth_sendRawTransaction', 'hello');
    assert.equal(notHex.code, -32602);
    const intrinsic = await rpcError(methods, 'eth_sendRawTransaction', ethers.hexlify(await chain.sign(alice, { to: bob.address, gasLimit: 20_000n })));
    assert.equal(intrinsic.message, 'intrinsic gas too low: have 20000, want 21000');
    const unprotected = ethers.Transaction.from({ type: 0, nonce: 1, to: bob.address, gasLimit: 21_000n, gasPrice: 0n });
    unprotected.signature = alice.signingKey.sign(unprotected.unsignedHash);
    assert.match((await rpcError(methods, 'eth_sendRawTransaction', unprotected.serialized)).message, /^only replay-protected \(EIP-155\) transactions allowed over RPC: /);
    assert.equal(await rpc(methods, 'eth_getTransactionCount', alice.address, 'latest'), '0x1');
  });

  test('eth_call and eth_estimateGas: results, revert data under code 3, refusals', async () => {
    const { chain, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, { data: contracts().Probe.bytecode });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    await sendRaw(chain, methods, alice, { to: contractAddress, data: probe.encodeFunctionData('set', [11n]) });
    const value = await rpc(methods, 'eth_call', { to: contractAddress, data: probe.encodeFunctionData('value') }, 'latest');
    assert.equal(BigInt(value as string), 11n);
    assert.equal(BigInt((await rpc(methods, 'eth_getStorageAt', contractAddress, '0x0', 'latest')) as string), 11n);
    // As geth: a slot may be padded, quantities may not.
    assert.equal(BigInt((await rpc(methods, 'eth_getStorageAt', contractAddress, ethers.zeroPadValue('0x00', 32), 'latest')) as string), 11n);
    assert.equal((await rpcError(methods, 'eth_getStorageAt', contractAddress, `0x${'0'.repeat(65)}`, 'latest')).code, -32602);
    // As geth's decodeHash: the prefix is optional, 0X too (QA).
    for (const slot of ['0', '0X0']) assert.equal(BigInt((await rpc(methods, 'eth_getStorageAt', contractAddress, slot, 'latest')) as string), 11n, slot);
    for (const slot of ['zz', `${'0'.repeat(65)}`]) assert.equal((await rpcError(methods, 'eth_getStorageAt', contractAddress, slot, 'latest')).code, -32602, slot);
    // eth_getStorageValues: several slots of several addresses at once, as geth answers it.
    const word = (n: bigint) => ethers.zeroPadValue(ethers.toBeHex(n), 32);
    assert.deepEqual(await rpc(methods, 'eth_getStorageValues', { [contractAddress]: ['0x0', word(1n)], [bob.address]: [word(0n)] }, 'latest'), {
      [contractAddress.toLowerCase()]: [word(11n), word(0n)],
      [bob.address.toLowerCase()]: [word(0n)],
    });
    assert.deepEqual(await rpcError(methods, 'eth_getStorageValues', { [contractAddress]: Array.from({ length: 1025 }, () => '0x0') }), { code: -38026, message: 'too many slots (max 1024)' });
    assert.deepEqual(await rpcError(methods, 'eth_getStorageValues', { [contractAddress]: [] }), { code: -32602, message: 'empty request' });
    assert.equal((await rpcError(methods, 'eth_getStorageValues', [contractAddress, '0x0'])).code, -32602);
    assert.equal((await rpcError(methods, 'eth_getStorageValues', { [contractAddress]: '0x0' })).code, -32602);
    assert.equal((await rpcError(methods, 'eth_getStorageValues', { '0x12': ['0x0'] })).code, -32602);
    assert.match((await rpcError(methods, 'eth_getStorageValues', { [contractAddress]: ['0x0'] }, '0x0')).message, /^historical state is not available/);
    const padded = await rpcError(methods, 'eth_getBalance', alice.address, '0x01');
    assert.deepEqual([padded.code, padded.message], [-32602, 'block: hex number with leading zero digits, got "0x01"']);
    assert.match((await rpcError(methods, 'eth_call', { to: contractAddress, value: '0x00' })).message, /^call\.value: hex number with leading zero digits/);
    assert.match((await rpcError(methods, 'eth_call', { to: contractAddress, gas: `0x1${'0'.repeat(64)}` })).message, /^call\.gas: hex number > 256 bits/);
    const code = (await rpc(methods, 'eth_getCode', contractAddress, 'latest')) as string;
    assert.ok(code.length > 100);
    const reverted = await rpcError(methods, 'eth_call', { from: alice.address, to: contractAddress, input: probe.encodeFunctionData('setThenRevert', [1n]) });
    assert.equal(reverted.code, 3);
    assert.equal(reverted.message, 'execution reverted: Probe: refused');
    assert.equal(probe.parseError(reverted.data as string)?.args[0], 'Probe: refused');
    const estimate = BigInt((await rpc(methods, 'eth_estimateGas', { from: alice.address, to: contractAddress, data: probe.encodeFunctionData('set', [3n]) })) as string);
    assert.ok(estimate > 21_000n && estimate < 60_000n, `estimate ${estimate}`);
    assert.equal((await rpcError(methods, 'eth_estimateGas', { to: contractAddress, data: probe.encodeFunctionData('setThenRevert', [1n]) })).code, 3);
    const spin = await rpcError(methods, 'eth_call', { to: contractAddress, data: probe.encodeFunctionData('spin'), gas: '0x30000' });
    assert.equal(spin.code, -32000);
    assert.equal(spin.message, 'out of gas');
    const historical = await rpcError(methods, 'eth_call', { to: contractAddress, data: probe.encodeFunctionData('value') }, '0x1');
    assert.match(historical.message, /historical state is not available/);
    assert.equal((await rpcError(methods, 'eth_getBalance', alice.address, '0x99')).message, 'header not found');
    // A cap below the intrinsic gas: eth_call says so, eth_estimateGas (as geth) that the allowance is too small.
    const capped = { from: alice.address, to: contractAddress, data: probe.encodeFunctionData('set', [3n]), gas: '0x5208' };
    assert.match((await rpcError(methods, 'eth_call', capped)).message, /^intrinsic gas too low: have 21000, want \d+$/);
    assert.deepEqual(await rpcError(methods, 'eth_estimateGas', capped), { code: -32000, message: 'gas required exceeds allowance (21000)' });
    for (const method of ['eth_call', 'eth_estimateGas']) {
      const mixed = await rpcError(methods, method, { to: contractAddress, gasPrice: '0x1', maxFeePerGas: '0x1' });
      assert.deepEqual([mixed.code, mixed.message], [-32602, 'both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified'], method);
      // Fields of the transaction types Coco refuses change what geth runs: refused, not ignored; an empty list sets nothing.
      const delegated = await rpcError(methods, method, { to: contractAddress, authorizationList: [{ chainId: '0x1', address: bob.address, nonce: '0x0', yParity: '0x0', r: '0x1', s: '0x1' }] });
      assert.deepEqual([delegated.code, delegated.message], [-32602, 'call.authorizationList is not supported: Coco refuses EIP-7702 (type 4) transactions, so a call cannot simulate one; leave it out'], method);
      const blob = await rpcError(methods, method, { to: contractAddress, blobVersionedHashes: [`0x01${'ab'.repeat(31)}`] });
      assert.deepEqual([blob.code, blob.message], [-32602, 'call.blobVersionedHashes is not supported: Coco refuses EIP-4844 blob (type 3) transactions, so a call cannot simulate one; leave it out'], method);
      assert.equal((await rpcError(methods, method, { to: contractAddress, maxFeePerBlobGas: '0x1' })).code, -32602, method);
      await rpc(methods, method, { from: alice.address, to: contractAddress, data: probe.encodeFunctionData('set', [3n]), authorizationList: [], blobVersionedHashes: null });
      // Well-formed, but refused by the chain's rules: -32000, as geth answers.
      const initcode = await rpcError(methods, method, { from: alice.address, data: `0x${'00'.repeat(49_153)}` });
      assert.deepEqual([initcode.code, initcode.message], [-32000, 'max initcode size exceeded: code size 49153, limit 49152'], method);
    }
    // EVM failures in geth's words (core/vm/errors.go), which clients match on.
    const at = `0x${'42'.repeat(20)}`;
    const blake2f = `0x${'00'.repeat(19)}09`;
    const failures: [string, Record<string, string>, string][] = [
      // PUSH2 0x6001 PUSH0 RETURN: deploys 24,577 bytes, one past EIP-170's limit.
      ['code size', { data: '0x6160015ff3' }, 'max code size exceeded'],
      // PUSH3 49153 PUSH0 PUSH0 CREATE: initcode one byte past EIP-3860's limit.
      ['CREATE initcode', { to: at, code: '0x6200c0015f5ff0' }, 'max initcode size exceeded'],
      // PUSH1 0 JUMP
      ['jump', { to: at, code: '0x600056' }, 'invalid jump destination'],
      // geth names the opcode: INVALID (0xfe, what solc emits for assert in old versions), or a byte
      // no opcode uses, found after a PUSH1 and in initcode too.
      ['INVALID', { to: at, code: '0x6001fe' }, 'invalid opcode: INVALID'],
      ['undefined byte', { to: at, code: '0x6001ef' }, 'invalid opcode: opcode 0xef not defined'],
      ['undefined byte in initcode', { data: '0x0c' }, 'invalid opcode: opcode 0xc not defined'],
      // blake2f (0x09) takes 213 bytes, the last one its final-block flag, 0 or 1 (core/vm/contracts.go).
      ['blake2f input length', { to: blake2f, data: `0x${'00'.repeat(212)}` }, 'invalid input length'],
      ['blake2f final flag', { to: blake2f, data: `0x${'00'.repeat(212)}02` }, 'invalid final flag'],
    ];
    for (const [what, { code, ...callObject }, message] of failures) {
      const overrides = code === undefined ? {} : { [at]: { code } };
      assert.deepEqual(await rpcError(methods, 'eth_call', callObject, 'latest', overrides), { code: -32000, message }, what);
    }
    // As geth's estimator: a failure other than running out of gas is told as it is, not as an allowance too small.
    assert.deepEqual(await rpcError(methods, 'eth_estimateGas', { data: '0x6160015ff3' }), { code: -32000, message: 'max code size exceeded' });
  });

  test("eth_call runs at the block it names (number, timestamp, BLOCKHASH), as geth; 'pending' in the next one", async () => {
    const { chain, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, { data: contracts().Probe.bytecode });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    chain.now_s += 5;
    await sendRaw(chain, methods, alice, { to: contractAddress, data: probe.encodeFunctionData('set', [1n]) });
    const head = (await rpc(methods, 'eth_getBlockByNumber', 'latest', false)) as { number: string; hash: string; parentHash: string; timestamp: string };
    chain.now_s += 60;
    const blockInfo = async (block: unknown) => {
      const [number, timestamp] = probe.decodeFunctionResult('blockInfo', (await rpc(methods, 'eth_call', { to: contractAddress, data: probe.encodeFunctionData('blockInfo') }, block)) as string);
      return [number as bigint, timestamp as bigint];
    };
    const atHead = [BigInt(head.number), BigInt(head.timestamp)];
    for (const block of ['latest', 'safe', 'finalized', undefined, head.number, { blockNumber: head.number }, { blockHash: head.hash }, head.hash]) {
      assert.deepEqual(await blockInfo(block), atHead, JSON.stringify(block));
    }
    // As geth: a string of a hash's length is a hash, even with leading zero digits, never a number.
    const unknownHash = `0x00${'11'.repeat(31)}`;
    assert.deepEqual(await rpcError(methods, 'eth_call', { to: contractAddress, data: probe.encodeFunctionData('blockInfo') }, unknownHash), { code: -32000, message: 'header not found' });
    assert.deepEqual(await rpcError(methods, 'eth_getBalance', alice.address, unknownHash), { code: -32000, message: 'header not found' });
    assert.equal(await rpc(methods, 'eth_getBalance', alice.address, head.hash), await rpc(methods, 'eth_getBalance', alice.address, 'latest'));
    assert.equal((await rpcError(methods, 'eth_getBalance', alice.address, `0x${'g'.repeat(64)}`)).code, -32602);
    assert.deepEqual(await blockInfo('pending'), [BigInt(head.number) + 1n, BigInt(chain.now_s)]);
    const previous = (await rpc(methods, 'eth_call', { to: contractAddress, data: probe.encodeFunctionData('previousBlockHash') }, 'latest')) as string;
    assert.equal(previous, head.parentHash);
  });

  test("eth_estimateGas without a block runs in the block its transaction would go in ('pending'), as Hardhat's automine estimates", async () => {
    const { chain, methods } = await setup();
    // Runtime: revert unless block.number is above slot 0, then store block.number there: one call per block.
    // NUMBER PUSH0 SLOAD DUP2 GT PUSH1 11 JUMPI PUSH0 PUSH0 REVERT; 11: JUMPDEST PUSH0 SSTORE STOP
    const runtime = '435f548111600b575f5ffd5b5f5500';
    const deployHash = await sendRaw(chain, methods, alice, { data: `0x600f600a5f39600f5ff3${runtime}` });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    const call = { from: alice.address, to: contractAddress };
    await sendRaw(chain, methods, alice, call);
    // Its latest block has its call already; ethers estimates without a block, then sends with the estimate.
    assert.equal((await rpcError(methods, 'eth_estimateGas', call, 'latest')).code, 3);
    const estimate = BigInt((await rpc(methods, 'eth_estimateGas', call)) as string);
    const sent = await sendRaw(chain, methods, alice, { ...call, gasLimit: estimate });
    assert.equal(((await rpc(methods, 'eth_getTransactionReceipt', sent)) as { status: string }).status, '0x1');
    assert.equal((await rpcError(methods, 'eth_call', { ...call, gas: `0x${estimate.toString(16)}` })).code, 3, 'eth_call still runs at the latest block by default');
  });

  test('eth_call and eth_estimateGas take geth\'s state overrides, seen by that call only', async () => {
    const { chain, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, { data: contracts().Probe.bytecode });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    await sendRaw(chain, methods, alice, { to: contractAddress, data: probe.encodeFunctionData('set', [5n]) });
    const readValue = { to: contractAddress, data: probe.encodeFunctionData('value') };
    const slot0 = ethers.ZeroHash;
    const word = (n: bigint) => ethers.zeroPadValue(ethers.toBeHex(n), 32);
    const valueWith = async (override: Record<string, unknown>) => BigInt((await rpc(methods, 'eth_call', readValue, 'latest', { [contractAddress]: override })) as string);

    assert.equal(await valueWith({ stateDiff: { [slot0]: word(7n) } }), 7n);
    assert.equal(await valueWith({ stateDiff: {} }), 5n, 'stateDiff keeps the slots it does not name');
    assert.equal(await valueWith({ state: {} }), 0n, 'state replaces the whole storage');
    assert.equal(await valueWith({ state: { [slot0]: word(9n) } }), 9n);
    assert.equal(BigInt((await rpc(methods, 'eth_call', readValue, 'latest')) as string), 5n, 'nothing was written');

    // Code at an empty address: PUSH1 42, PUSH0, MSTORE, PUSH1 32, PUSH0, RETURN.
    const empty = wallet(7).address;
    assert.equal(await rpc(methods, 'eth_call', { to: empty }, 'latest'), '0x');
    assert.equal(BigInt((await rpc(methods, 'eth_call', { to: empty }, 'latest', { [empty]: { code: `0x${PUSH0_RUNTIME}` } })) as string), 42n);
    assert.equal(await rpc(methods, 'eth_getCode', empty, 'latest'), '0x');

    // A balance the sender lacks, for a call and for an estimate.
    const pauper = wallet(8).address;
    const pay = { from: pauper, to: alice.address, value: ethers.toQuantity(ETHER) };
    assert.match((await rpcError(methods, 'eth_call', pay, 'latest')).message, /^insufficient funds/);
    const rich = { [pauper]: { balance: ethers.toQuantity(2n * ETHER), nonce: '0x5' } };
    assert.equal(await rpc(methods, 'eth_call', pay, 'latest', rich), '0x');
    assert.equal(await rpc(methods, 'eth_estimateGas', pay, 'latest', rich), '0x5208');
    assert.equal(await rpc(methods, 'eth_getBalance', pauper, 'latest'), '0x0');

    const both = await rpcError(methods, 'eth_call', readValue, 'latest', { [contractAddress]: { state: {}, stateDiff: {} } });
    assert.deepEqual(both, { code: -32000, message: `account ${contractAddress} has both 'state' and 'stateDiff'` });
    for (const bad of [{ [contractAddress]: { movePrecompileToAddress: empty } }, { '0x12': {} }, 'overrides', { [contractAddress]: { stateDiff: { '0x1': word(1n) } } }, { [contractAddress]: { nonce: '0x10000000000000000' } }]) {
      assert.equal((await rpcError(methods, 'eth_call', readValue, 'latest', bad)).code, -32602, JSON.stringify(bad));
    }
    assert.equal((await rpcError(methods, 'eth_call', readValue, 'latest', {}, { number: '0x99' })).code, -32602, 'block overrides are refused');
    assert.equal(BigInt((await rpc(methods, 'eth_call', readValue, 'latest', null, {})) as string), 5n, 'empty overrides are no overrides');
  });

  test("eth_createAccessList lists the storage a call touches, with its gas and, when it fails, geth's reason", async () => {
    const { chain, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, { data: contracts().Probe.bytecode });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    const slot0 = '0x' + '00'.repeat(32);
    const call = { from: alice.address, to: contractAddress, data: probe.encodeFunctionData('setViaCall', [5n]) };
    const listed = (await rpc(methods, 'eth_createAccessList', call, 'latest')) as { accessList: { address: string; storageKeys: string[] }[]; gasUsed: string; error?: string };
    // The contract calls itself: its own address is warm already, its slot is what the list adds.
    assert.deepEqual(listed.accessList, [{ address: contractAddress.toLowerCase(), storageKeys: [slot0] }]);
    assert.equal(listed.error, undefined);
    const withList = BigInt(listed.gasUsed);
    const without = BigInt((await rpc(methods, 'eth_estimateGas', call)) as string);
    assert.ok(withList > 21_000n && withList < without + 5_000n, `with the list ${withList}, estimate without ${without}`);
    // Sent with that list, the transaction uses what the answer said.
    const sent = await sendRaw(chain, methods, alice, { ...call, type: 2, accessList: listed.accessList, gasLimit: without + 10_000n });
    assert.equal(BigInt(((await rpc(methods, 'eth_getTransactionReceipt', sent)) as { gasUsed: string }).gasUsed), withList);
    const reverted = (await rpc(methods, 'eth_createAccessList', { ...call, data: probe.encodeFunctionData('setThenRevert', [1n]) })) as { accessList: unknown[]; error?: string };
    assert.equal(reverted.error, 'execution reverted: Probe: refused');
    assert.deepEqual(reverted.accessList, [{ address: contractAddress.toLowerCase(), storageKeys: [slot0] }]);
    assert.deepEqual((await rpc(methods, 'eth_createAccessList', { from: alice.address, to: bob.address, value: '0x1' })) as unknown, { accessList: [], gasUsed: '0x5208' });
    assert.match((await rpcError(methods, 'eth_createAccessList', call, '0x0')).message, /historical state is not available/);
    // geth's third parameter, state overrides: code at an empty address that reads slot 7
    // (PUSH1 7, SLOAD, STOP) is what the list reports, for that call only.
    const empty = '0x' + '77'.repeat(20);
    const readsSlot7 = { from: alice.address, to: empty };
    const slot7 = '0x' + '00'.repeat(31) + '07';
    assert.deepEqual(((await rpc(methods, 'eth_createAccessList', readsSlot7, 'latest', { [empty]: { code: '0x60075400' } })) as { accessList: unknown }).accessList, [{ address: empty, storageKeys: [slot7] }]);
    assert.deepEqual(((await rpc(methods, 'eth_createAccessList', readsSlot7, 'latest')) as { accessList: unknown }).accessList, []);
  });

  test('eth_getLogs filters by block range, block hash, address and topic positions', async () => {
    const { chain, methods } = await setup();
    const deployHash = await sendRaw(chain, methods, alice, {
      data: ethers.concat([contracts().Token.bytecode, token.encodeDeploy(['T', 'T', 1000n])]),
    });
    const { contractAddress } = (await rpc(methods, 'eth_getTransactionReceipt', deployHash)) as { contractAddress: string };
    const carol = wallet(2);
    await sendRaw(chain, methods, alice, { to: contractAddress, data: token.encodeFunctionData('transfer', [bob.address, 10n]) });
    await sendRaw(chain, methods, alice, { to: contractAddress, data: token.encodeFunctionData('transfer', [carol.address, 20n]) });
    await sendRaw(chain, methods, alice, { to: bob.address, value: 1n });
    const transfer = ethers.id('Transfer(address,address,uint256)');
    const all = (await rpc(methods, 'eth_getLogs', { fromBlock: '0x0', toBlock: 'latest', address: contractAddress })) as Record<string, unknown>[];
    assert.equal(all.length, 3, 'mint and two transfers');
    assert.deepEqual(
      all.map((log) => log.blockNumber),
      ['0x1', '0x2', '0x3'],
    );
    const toCarol = (await rpc(methods, 'eth_getLogs', { fromBlock: 'earliest', topics: [transfer, null, ethers.zeroPadValue(carol.address, 32)] })) as Record<string, unknown>[];
    assert.equal(toCarol.length, 1);
    assert.equal(BigInt(toCarol[0]?.data as string), 20n);
    const either = (await rpc(methods, 'eth_getLogs', {
      fromBlock: '0x2',
      toBlock: '0x3',
      topics: [[transfer], null, [ethers.zeroPadValue(bob.address, 32), ethers.zeroPadValue(carol.address, 32)]],
    })) as unknown[];
    assert.equal(either.length, 2);
    const byHash = (await rpc(methods, 'eth_getLogs', { blockHash: toCarol[0]?.blockHash })) as unknown[];
    assert.equal(byHash.length, 1);
    assert.deepEqual(await rpc(methods, 'eth_getLogs', { fromBlock: '0x1', address: bob.address }), []);
    assert.equal((await rpcError(methods, 'eth_getLogs', { topics: ['0x12'] })).code, -32602);
    // As geth: an empty list is a wildcard, and a range of two numbers in reverse order is an error.
    assert.equal(((await rpc(methods, 'eth_getLogs', { fromBlock: '0x0', address: [], topics: [[], null] })) as unknown[]).length, 3);
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: '0x3', toBlock: '0x2' }), { code: -32602, message: 'invalid block range params' });
    const receipt = (await rpc(methods, 'eth_getTransactionReceipt', all[1]?.transactionHash)) as { logsBloom: string };
    const bloom = BigInt(receipt.logsBloom);
    assert.notEqual(bloom, 0n);
  });

  test("a log query's range is checked once its tags are read, as geth: reversed, or past this node's latest block, is -32602", async () => {
    const { chain, backend, methods } = await setup();
    await sendRaw(chain, methods, alice, { to: bob.address, value: 1n });
    await sendRaw(chain, methods, alice, { to: bob.address, value: 1n });
    const beyond = { code: -32602, message: 'block range extends beyond current head block' };
    const reversed = { code: -32602, message: 'invalid block range params' };
    assert.deepEqual(await rpc(methods, 'eth_getLogs', { fromBlock: '0x1', toBlock: '0x2' }), []);
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: '0x1', toBlock: '0x3' }), beyond, 'before: the blocks this node has');
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: '0x3', toBlock: '0x5' }), beyond);
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { toBlock: '0x3' }), beyond, 'from the latest block, 2');
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: '0x3' }), reversed, 'to the latest block, 2');
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: 'latest', toBlock: '0x1' }), reversed, 'before: []');
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: '0x2', toBlock: '0x1' }), reversed);
    // A node that does not know block 3 Committed yet (a backup a moment behind the primary) refuses it, and answers once it does.
    backend.holdCommit();
    const { answered } = await sendUncommitted(chain, methods, alice, { to: bob.address, value: 1n });
    const filter = await rpc(methods, 'eth_newFilter', { fromBlock: '0x1', toBlock: '0x3' });
    assert.deepEqual(await rpcError(methods, 'eth_getLogs', { fromBlock: '0x1', toBlock: '0x3' }), beyond);
    assert.deepEqual(await rpcError(methods, 'eth_getFilterLogs', filter), beyond);
    backend.committedUpTo = undefined;
    await answered;
    assert.deepEqual(await rpc(methods, 'eth_getLogs', { fromBlock: '0x1', toBlock: '0x3' }), []);
    assert.deepEqual(await rpc(methods, 'eth_getFilterLogs', filter), []);
  });

  test('eth_feeHistory covers the latest blocks with zero base fees', async () => {
    const { chain, methods } = await setup();
    await sendRaw(chain, methods, alice, { to: bob.address, value: 1n });
    await sendRaw(chain, methods, alice, { to: bob.address, value: 1n, maxFeePerGas: 5n, maxPriorityFeePerGas: 3n });
    const history = (await rpc(methods, 'eth_feeHistory', '0x4', 'latest', [10, 90])) as Record<string, unknown>;
    assert.equal(history.oldestBlock, '0x0');
    assert.deepEqual(history.baseFeePerGas, ['0x0', '0x0', '0x0', '0x0']);
    // The blob base fee the EVM's BLOBBASEFEE answers: the protocol's minimum, 1 wei.
    assert.deepEqual(history.baseFeePerBlobGas, ['0x1', '0x1', '0x1', '0x1']);
    assert.deepEqual(history.reward, [
      ['0x0', '0x0'],
      ['0x0', '0x0'],
      ['0x3', '0x3'],
    ]);
    const ratios = history.gasUsedRatio as number[];
    assert.equal(ratios.length, 3);
    assert.equal(ratios[1], 21_000 / 30_000_000);
    assert.equal((await rpcError(methods, 'eth_feeHistory', '0x1', 'latest', [50, 10])).code, -32602);
    assert.equal((await rpcError(methods, 'eth_feeHistory', 1.5, 'latest')).code, -32602);
    assert.equal(((await rpc(methods, 'eth_feeHistory', 2, 'latest')) as { oldestBlock: string }).oldestBlock, '0x1');
  });

  test("eth_blobBaseFee answers the next block's blob base fee: BLOBBASEFEE's, and eth_feeHistory's last", async () => {
    const { methods } = await setup();
    const fee = await rpc(methods, 'eth_blobBaseFee');
    assert.equal(fee, '0x1');
    const history = (await rpc(methods, 'eth_feeHistory', '0x1', 'latest')) as { baseFeePerBlobGas: string[] };
    assert.equal(history.baseFeePerBlobGas.at(-1), fee);
    // BLOBBASEFEE PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    const at = `0x${'42'.repeat(20)}`;
    const evm = (await rpc(methods, 'eth_call', { to: at }, 'pending', { [at]: { code: '0x4a5f5260205ff3' } })) as string;
    assert.equal(BigInt(evm), BigInt(fee as string));
    assert.equal((await rpcError(methods, 'eth_blobBaseFee', 'latest')).code, -32602);
  });

  test('a write that meets a conflict runs again in a new Coco transaction', async () => {
    const { chain, backend, methods } = await setup();
    const signed = ethers.hexlify(await chain.sign(alice, { to: bob.address, value: 3n }));
    // Another writer commits a change to alice's account while the first attempt is open.
    const original = backend.writeTransaction.bind(backend);
    let interfered = false;
    backend.writeTransaction = async (work) =>
      original(async (tx) => {
        const result = await work(tx);
        if (!interfered) {
          interfered = true;
          await chain.fund(alice.address, 50n * ETHER);
        }
        return result;
      });
    await rpc(methods, 'eth_sendRawTransaction', signed);
    assert.equal(backend.writeAttempts, 2);
    assert.equal(await rpc(methods, 'eth_getBalance', bob.address, 'latest'), '0x3');
    assert.equal(await rpc(methods, 'eth_getBalance', alice.address, 'latest'), ethers.toQuantity(50n * ETHER - 3n));
  });
});

test('transactions sent at once run one after the other, each committed before the next starts', async () => {
  const { chain, backend, methods } = await setup();
  const senders = Array.from({ length: 6 }, (_, i) => wallet(i + 2));
  for (const sender of senders) await chain.fund(sender.address, ETHER);
  const signed = await Promise.all(senders.map(async (sender) => ethers.hexlify(await chain.sign(sender, { to: bob.address, value: 1n, nonce: 0, gasLimit: 21_000n }))));
  const attemptsBefore = backend.writeAttempts;
  const blockBefore = BigInt((await rpc(methods, 'eth_blockNumber')) as string);
  const hashes = (await Promise.all(signed.map((tx) => rpc(methods, 'eth_sendRawTransaction', tx)))) as string[];
  // None ran on a state another one was about to change: no run was wasted on a conflict.
  assert.equal(backend.writeAttempts - attemptsBefore, senders.length);
  const receipts = (await Promise.all(hashes.map((hash) => rpc(methods, 'eth_getTransactionReceipt', hash)))) as { blockNumber: string; status: string }[];
  assert.deepEqual(
    receipts.map((receipt) => BigInt(receipt.blockNumber)).sort((a, b) => (a < b ? -1 : 1)),
    senders.map((_, i) => blockBefore + 1n + BigInt(i)),
    'one block each, numbered in a row',
  );
  assert.ok(receipts.every((receipt) => receipt.status === '0x1'));
  assert.equal(await rpc(methods, 'eth_getBalance', bob.address, 'latest'), ethers.toQuantity(BigInt(senders.length)));
});
