// A priority fee above the fee cap is refused in geth's words (core.ErrTipAboveFeeCap): in a call,
// as geth's state transition says it, with the sender and both fees; in a raw transaction alone, as
// geth's transaction pool says it. EthereumJS's own words were "maxFeePerGas cannot be less than
// maxPriorityFeePerGas (The total must be the larger of the two)". A call's fees give it the gas price
// geth gives it (TransactionArgs.ToMessage): an absent priority fee is 0, not the fee cap.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ethers } from 'ethers';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { GASPRICE_CREATION } from './contracts.js';
import { CHAIN_ID, ETHER, TestChain, wallet } from './harness.js';
import { MemoryBackend, methodsFor } from './memory-backend.js';

const alice = wallet(0);

async function rpc(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as { result?: unknown; error?: { code: number; message: string } };
}

async function setup(): Promise<{ chain: TestChain; methods: JsonRpcMethods }> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, ETHER);
  return { chain, methods: methodsFor(new MemoryBackend(chain)) };
}

describe('a priority fee above the fee cap', () => {
  test("is refused in geth's words: in a call with the sender and both fees, in a raw transaction alone", async () => {
    const { chain, methods } = await setup();
    const fees = { maxPriorityFeePerGas: ethers.toQuantity(2), maxFeePerGas: ethers.toQuantity(1) };
    const called = await rpc(methods, 'eth_call', { from: alice.address, to: wallet(1).address, ...fees }, 'latest');
    assert.deepEqual(called.error, {
      code: -32000,
      message: `max priority fee per gas higher than max fee per gas: address ${alice.address}, maxPriorityFeePerGas: 2, maxFeePerGas: 1`,
    });
    const estimated = await rpc(methods, 'eth_estimateGas', { from: alice.address, to: wallet(1).address, ...fees });
    assert.equal(estimated.error?.message, called.error?.message);
    // Signed by hand: ethers.js, like EthereumJS, refuses to build such a transaction.
    const fields = [CHAIN_ID, 0n, 2n, 1n, 21_000n, wallet(1).address, 0n, '0x', []].map((f) => (typeof f === 'bigint' ? ethers.toBeArray(f) : f));
    const unsigned = ethers.concat(['0x02', ethers.encodeRlp(fields)]);
    const signature = alice.signingKey.sign(ethers.keccak256(unsigned));
    const raw = ethers.concat(['0x02', ethers.encodeRlp([...fields, ethers.toBeArray(signature.yParity), ethers.toBeArray(BigInt(signature.r)), ethers.toBeArray(BigInt(signature.s))])]);
    const sent = await rpc(methods, 'eth_sendRawTransaction', raw);
    assert.deepEqual(sent.error, { code: -32000, message: 'max priority fee per gas higher than max fee per gas' });
    assert.equal(chain.nonceOf(alice.address), 0);
  });
});

describe("a call's gas price", () => {
  test('is min(priority fee + base fee, fee cap) as in geth, with an absent priority fee 0: a fee cap alone prices the call at 0', async () => {
    const { chain, methods } = await setup();
    const deployed = await chain.send(alice, { data: GASPRICE_CREATION });
    assert.ok(deployed.receipt.contractAddress);
    const to = ethers.hexlify(deployed.receipt.contractAddress);
    // The base fee is 0 on Coco, so the price is the priority fee, capped by the fee cap.
    const cases: ReadonlyArray<readonly [fees: Record<string, number>, gasPrice: bigint]> = [
      [{ maxFeePerGas: 7 }, 0n],
      [{ maxFeePerGas: 7, maxPriorityFeePerGas: 0 }, 0n],
      [{ maxFeePerGas: 7, maxPriorityFeePerGas: 3 }, 3n],
      [{ maxFeePerGas: 7, maxPriorityFeePerGas: 7 }, 7n],
      [{ gasPrice: 5 }, 5n],
      [{}, 0n],
    ];
    for (const [fees, gasPrice] of cases) {
      const quantities = Object.fromEntries(Object.entries(fees).map(([name, value]) => [name, ethers.toQuantity(value)]));
      const called = await rpc(methods, 'eth_call', { from: alice.address, to, ...quantities }, 'latest');
      assert.equal(BigInt(called.result as string), gasPrice, `tx.gasprice with ${JSON.stringify(fees)}`);
    }
  });
});
