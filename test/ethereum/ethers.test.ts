// ethers.js v6 used as a user would (a Wallet, a ContractFactory, contract calls, events), its
// JSON-RPC requests answered in process by Coco's method table: every answer must parse in ethers.

import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ethers } from 'ethers';
import { primaryWrites } from '../../src/ethereum/ethereum-endpoint.js';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import type { Node } from '../../src/node/node.js';
import { contracts } from './contracts.js';
import { ETHER, TestChain, wallet } from './harness.js';
import { InProcessProvider, MemoryBackend, methodsFor } from './memory-backend.js';

/** A provider over a funded chain, destroyed when `t` ends (its polling keeps the process alive). */
async function connected(t: TestContext): Promise<{ provider: InProcessProvider; alice: ethers.Wallet; bob: ethers.Wallet }> {
  const chain = await TestChain.create();
  await chain.fund(wallet(0).address, 100n * ETHER);
  const provider = new InProcessProvider(methodsFor(new MemoryBackend(chain)));
  t.after(() => provider.destroy());
  return { provider, alice: wallet(0).connect(provider), bob: wallet(1).connect(provider) };
}

test('ethers.js: fee data, a value transfer and its receipt', async (t) => {
  const { provider, alice, bob } = await connected(t);
  // ethers reads a base fee of 0 as "no EIP-1559" and sends legacy transactions priced at eth_gasPrice.
  const fees = await provider.getFeeData();
  assert.equal(fees.gasPrice, 0n);
  assert.equal(fees.maxFeePerGas, null);
  const sent = await alice.sendTransaction({ to: bob.address, value: ETHER });
  assert.equal(sent.type, 0);
  const typed = await (await alice.sendTransaction({ type: 2, to: bob.address, value: 1n })).wait();
  assert.equal(typed?.status, 1);
  const receipt = await sent.wait();
  assert.equal(receipt?.status, 1);
  assert.equal(receipt?.gasUsed, 21_000n);
  assert.equal(await provider.getBalance(bob.address), ETHER + 1n);
  assert.equal(await provider.getTransactionCount(alice.address), 2);
  const block = await provider.getBlock(receipt!.blockNumber);
  assert.equal(block?.hash, receipt?.blockHash);
  assert.deepEqual(block?.transactions, [sent.hash]);
  const fetched = await provider.getTransaction(sent.hash);
  assert.equal(fetched?.from, alice.address);
  assert.equal(await provider.getBlockNumber(), typed?.blockNumber);
});

test('ethers.js: an ERC-20 compiled with solc is deployed, transferred, queried, and its events listed', async (t) => {
  const { alice, bob } = await connected(t);
  const factory = new ethers.ContractFactory(contracts().Token.abi as ethers.InterfaceAbi, contracts().Token.bytecode, alice);
  const deployed = await factory.deploy('Coco Token', 'COCO', 1_000n * ETHER);
  await deployed.waitForDeployment();
  const tokenContract = new ethers.Contract(await deployed.getAddress(), contracts().Token.abi as ethers.InterfaceAbi, alice);
  assert.equal(await tokenContract.getFunction('symbol')(), 'COCO');
  const transfer = (await tokenContract.getFunction('transfer')(bob.address, 40n * ETHER)) as ethers.ContractTransactionResponse;
  const receipt = await transfer.wait();
  assert.equal(receipt?.status, 1);
  assert.equal(await tokenContract.getFunction('balanceOf')(bob.address), 40n * ETHER);
  const events = (await tokenContract.queryFilter(tokenContract.filters.Transfer!(alice.address), 0, 'latest')) as ethers.EventLog[];
  assert.equal(events.length, 1);
  assert.equal(events[0]?.args.to, bob.address);
  assert.equal(events[0]?.args.value, 40n * ETHER);
  const all = await tokenContract.queryFilter(tokenContract.filters.Transfer!());
  assert.equal(all.length, 2, 'the mint and the transfer');
});

test('ethers.js: a revert surfaces as CALL_EXCEPTION with its reason, before anything is sent', async (t) => {
  const { provider, alice, bob } = await connected(t);
  const factory = new ethers.ContractFactory(contracts().Token.abi as ethers.InterfaceAbi, contracts().Token.bytecode, alice);
  const deployed = await factory.deploy('T', 'T', 10n);
  await deployed.waitForDeployment();
  const asBob = new ethers.Contract(await deployed.getAddress(), contracts().Token.abi as ethers.InterfaceAbi, bob);
  await assert.rejects(asBob.getFunction('transfer')(alice.address, 1n), (error: unknown) => {
    assert.ok(ethers.isError(error, 'CALL_EXCEPTION'), String(error));
    assert.equal(error.reason, 'Token: transfer amount exceeds balance');
    return true;
  });
  await assert.rejects(asBob.getFunction('transferFrom')(alice.address, bob.address, 1n), (error: unknown) => {
    assert.ok(ethers.isError(error, 'CALL_EXCEPTION'), String(error));
    assert.equal(asBob.interface.parseError(error.data as string)?.name, 'AllowanceExceeded');
    return true;
  });
  assert.equal(await provider.getTransactionCount(bob.address), 0);
  await assert.rejects(alice.sendTransaction({ to: bob.address, value: 1000n * ETHER }), (error: unknown) => ethers.isError(error, 'INSUFFICIENT_FUNDS'));
});

describe("ethers.js: a NonceManager's sends made at once all run, in ethers' own batches (each send beside an eth_blockNumber)", () => {
  /** Sends `count` transfers at once through a NonceManager over `methods`, batched as ethers batches by default; the errors, and alice's nonce after. */
  async function sendAtOnce(t: TestContext, chain: TestChain, methods: JsonRpcMethods, count: number): Promise<{ errors: string[]; nonce: number }> {
    const provider = new InProcessProvider(methods, { batchMaxCount: 100 });
    t.after(() => provider.destroy());
    const sender = new ethers.NonceManager(wallet(0).connect(provider));
    const sent = await Promise.allSettled(Array.from({ length: count }, () => sender.sendTransaction({ to: wallet(1).address, value: 1n, gasLimit: 21_000n })));
    const errors = sent.flatMap((result) => (result.status === 'rejected' ? [String((result.reason as { error?: { message?: string } }).error?.message ?? result.reason)] : []));
    return { errors, nonce: chain.nonceOf(wallet(0).address) };
  }

  async function funded(): Promise<{ chain: TestChain; backend: MemoryBackend }> {
    const chain = await TestChain.create();
    await chain.fund(wallet(0).address, 100n * ETHER);
    return { chain, backend: new MemoryBackend(chain) };
  }

  for (const count of [40, 100]) {
    test(`${count} sends on the primary`, { timeout: 120_000 }, async (t) => {
      const { chain, backend } = await funded();
      assert.deepEqual(await sendAtOnce(t, chain, methodsFor(backend), count), { errors: [], nonce: count });
    });

    test(`${count} sends through a backup, which forwards each to the primary`, { timeout: 120_000 }, async (t) => {
      const { chain, backend } = await funded();
      const primary = methodsFor(backend);
      const backup = primaryWrites(primary, { isPrimary: false } as Node, (body) => handleJsonRpc(body, primary));
      assert.deepEqual(await sendAtOnce(t, chain, backup, count), { errors: [], nonce: count });
    });
  }
});
