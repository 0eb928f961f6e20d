// Prague's and Cancun's system contracts over JSON-RPC. EIP-2935's history contract has its mainnet
// code and answers the hashes of the 8191 blocks below the one a call runs in, and reverts outside
// them, as on Ethereum; its storage reads as the system calls would have written it. EIP-4788's
// beacon roots contract reverts with the reason that Coco has no beacon chain. Both are there in
// any state, including one that stored an account at their address before they were shown.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ethers } from 'ethers';
import { setBalance } from '../../src/ethereum/account-state.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { BEACON_ROOTS_UNAVAILABLE } from '../../src/ethereum/system-contracts.js';
import { ETHER, TestChain, appendLogBlocks, bytes, wallet } from './harness.js';
import { MemoryBackend, methodsFor } from './memory-backend.js';

const HISTORY = '0x0000F90827F1C53a10cb7A02335B175320002935';
const BEACON_ROOTS = '0x000F3df6D732807Ef1319fB7B8bB8522d0Beac02';
/** keccak256 of EIP-2935's runtime code, as deployed on mainnet. */
const HISTORY_CODE_HASH = '0x6e49e66782037c0555897870e29fa5e552daf4719552131a0abce779daec0a5d';
const WINDOW = 8191;
const alice = wallet(0);

interface RpcError {
  code: number;
  message: string;
  data?: string;
}

async function rpc(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<{ result?: unknown; error?: RpcError }> {
  return JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as { result?: unknown; error?: RpcError };
}

async function setup(): Promise<{ chain: TestChain; methods: JsonRpcMethods }> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, ETHER);
  return { chain, methods: methodsFor(new MemoryBackend(chain)) };
}

function hashOf(chain: TestChain, number: number): string {
  return ethers.hexlify(chain.read((tx) => chain.context.blocks.hashOf(tx, BigInt(number)))!);
}

function head(chain: TestChain): number {
  return Number(chain.read((tx) => chain.context.blocks.head(tx)));
}

/** What the history contract answers for block `number`, in the block a call at `pending` runs in (head + 1). */
async function historyGet(methods: JsonRpcMethods, number: number): Promise<{ result?: unknown; error?: RpcError }> {
  return rpc(methods, 'eth_call', { to: HISTORY, data: ethers.toBeHex(number, 32) }, 'pending');
}

describe('EIP-2935 block hash history', () => {
  test('its code, code hash and nonce are mainnet\'s, in a state that stores nothing at its address', async () => {
    const { methods } = await setup();
    const code = (await rpc(methods, 'eth_getCode', HISTORY, 'latest')).result as string;
    assert.equal(ethers.keccak256(code), HISTORY_CODE_HASH);
    assert.equal((await rpc(methods, 'eth_getTransactionCount', HISTORY, 'latest')).result, '0x1');
  });

  test('answers the hash of each of the blocks below the one it runs in, and reverts for the others', async () => {
    const { chain, methods } = await setup();
    for (let i = 0; i < 3; i++) await chain.send(alice, { to: wallet(1).address, value: 1n });
    const last = head(chain);
    assert.equal(last, 3);
    // A call at pending runs in block last + 1: blocks 0 (genesis) to last are served.
    for (let n = 0; n <= last; n++) assert.equal((await historyGet(methods, n)).result, hashOf(chain, n), `block ${n}`);
    const future = await historyGet(methods, last + 1);
    assert.equal(future.error?.code, 3);
    assert.equal(future.error?.message, 'execution reverted');
    // Its storage reads as the system calls left it after the last block: slots 0 to last - 1.
    for (let n = 0; n < last; n++) assert.equal((await rpc(methods, 'eth_getStorageAt', HISTORY, ethers.toBeHex(n, 32), 'latest')).result, hashOf(chain, n));
    assert.equal((await rpc(methods, 'eth_getStorageAt', HISTORY, ethers.toBeHex(last, 32), 'latest')).result, ethers.ZeroHash);
    // A transaction reads it the same way.
    const sent = await chain.send(alice, { to: HISTORY, data: ethers.toBeHex(1, 32) });
    assert.equal(sent.receipt.status, 1);
    assert.equal(ethers.hexlify(sent.returnValue), hashOf(chain, 1));
  });

  test('serves a window of 8191 blocks, its ring of slots wrapping round', async () => {
    const { chain, methods } = await setup();
    await appendLogBlocks(chain, WINDOW + 10, () => []);
    const running = head(chain) + 1;
    assert.equal((await historyGet(methods, running - WINDOW)).result, hashOf(chain, running - WINDOW), 'the oldest block served');
    assert.equal((await historyGet(methods, running - 1)).result, hashOf(chain, running - 1), 'the newest');
    assert.equal((await historyGet(methods, running - WINDOW - 1)).error?.code, 3, 'one block too old');
    // Slot n % 8191 holds the latest such block before the last one: n itself for those 8191 blocks.
    const slot = (running - 2) % WINDOW;
    assert.equal((await rpc(methods, 'eth_getStorageAt', HISTORY, ethers.toBeHex(slot, 32), 'latest')).result, hashOf(chain, running - 2));
  });

  test('ether sent to its address before Coco showed it stays, and the code is shown with it', async () => {
    const { chain, methods } = await setup();
    await chain.write((tx) => setBalance(tx, chain.context.maps, bytes(HISTORY), 5n));
    assert.equal((await rpc(methods, 'eth_getBalance', HISTORY, 'latest')).result, '0x5');
    assert.equal(ethers.keccak256((await rpc(methods, 'eth_getCode', HISTORY, 'latest')).result as string), HISTORY_CODE_HASH);
    assert.equal((await historyGet(methods, 0)).result, hashOf(chain, 0));
  });
});

describe('EIP-4788 beacon block roots', () => {
  test('a call reverts with the reason that Coco has no beacon chain, where it answered nothing', async () => {
    const { chain, methods } = await setup();
    assert.notEqual((await rpc(methods, 'eth_getCode', BEACON_ROOTS, 'latest')).result, '0x');
    const timestamp = ethers.toBeHex(chain.now_s, 32);
    const called = await rpc(methods, 'eth_call', { to: BEACON_ROOTS, data: timestamp }, 'latest');
    assert.equal(called.error?.code, 3);
    assert.equal(called.error?.message, `execution reverted: ${BEACON_ROOTS_UNAVAILABLE}`);
    const sent = await chain.send(alice, { to: BEACON_ROOTS, data: timestamp });
    assert.equal(sent.receipt.status, 0, 'a transaction that asks is included, reverted');
  });
});
