// Legacy transactions signed without a chain id (pre-EIP-155), such as the presigned deployment of
// Arachnid's CREATE2 deployer at its canonical address that Foundry and hardhat-deploy rely on: a
// service that allows them (allow_unprotected_transactions, recorded at genesis) runs them as any
// chain would; one that does not refuses them in geth's words, then says how to allow them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { handleJsonRpc, type JsonRpcMethods } from '../../src/ethereum/json-rpc.js';
import { CREATE2_DEPLOYER, PUSH0_CREATION, PUSH0_RUNTIME } from './contracts.js';
import { ETHER, TestChain, wallet } from './harness.js';
import { MemoryBackend, methodsFor } from './memory-backend.js';

const alice = wallet(0);

type Reply = { result?: unknown; error?: { code: number; message: string } };

async function rpc(methods: JsonRpcMethods, method: string, ...params: unknown[]): Promise<Reply> {
  return JSON.parse((await handleJsonRpc(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), methods))!) as Reply;
}

async function setup(allowUnprotectedTransactions: boolean): Promise<{ chain: TestChain; methods: JsonRpcMethods }> {
  const chain = await TestChain.create({ allowUnprotectedTransactions });
  // What the deployment costs at its 100 gwei: 100,000 gas.
  await chain.fund(CREATE2_DEPLOYER.signer, ETHER / 100n);
  await chain.fund(alice.address, ETHER);
  return { chain, methods: methodsFor(new MemoryBackend(chain)) };
}

test('allowed, the presigned deployer transaction deploys the CREATE2 deployer at its canonical address, and CREATE2 through it lands where predicted', async () => {
  const { chain, methods } = await setup(true);
  const sent = await rpc(methods, 'eth_sendRawTransaction', CREATE2_DEPLOYER.transaction);
  assert.equal(sent.result, ethers.keccak256(CREATE2_DEPLOYER.transaction), JSON.stringify(sent.error));
  assert.equal((await rpc(methods, 'eth_getCode', CREATE2_DEPLOYER.address, 'latest')).result, CREATE2_DEPLOYER.runtime);
  const receipt = (await rpc(methods, 'eth_getTransactionReceipt', sent.result)).result as Record<string, unknown>;
  assert.deepEqual([receipt.status, receipt.from, receipt.contractAddress], ['0x1', CREATE2_DEPLOYER.signer, CREATE2_DEPLOYER.address]);
  // As geth shows it: its v, and no chain id, which its signature does not cover.
  const shown = (await rpc(methods, 'eth_getTransactionByHash', sent.result)).result as Record<string, unknown>;
  assert.deepEqual([shown.from, shown.v, shown.type, 'chainId' in shown], [CREATE2_DEPLOYER.signer, '0x1b', '0x0', false]);

  const salt = ethers.id('coco');
  const predicted = ethers.getCreate2Address(CREATE2_DEPLOYER.address, salt, ethers.keccak256(PUSH0_CREATION));
  const input = ethers.concat([salt, PUSH0_CREATION]);
  assert.equal((await rpc(methods, 'eth_call', { from: alice.address, to: CREATE2_DEPLOYER.address, data: input }, 'latest')).result, predicted.toLowerCase());
  const created = await chain.send(alice, { to: CREATE2_DEPLOYER.address, data: input });
  assert.equal(created.receipt.status, 1, created.error);
  assert.equal((await rpc(methods, 'eth_getCode', predicted, 'latest')).result, `0x${PUSH0_RUNTIME}`);
});

test("not allowed (the default), it is refused in geth's words, then how to allow it, and nothing runs", async () => {
  const { methods } = await setup(false);
  const sent = await rpc(methods, 'eth_sendRawTransaction', CREATE2_DEPLOYER.transaction);
  assert.equal(sent.error?.code, -32000);
  assert.match(sent.error?.message ?? '', /^only replay-protected \(EIP-155\) transactions allowed over RPC: .*ethereum\.allow_unprotected_transactions to true/);
  assert.equal((await rpc(methods, 'eth_getCode', CREATE2_DEPLOYER.address, 'latest')).result, '0x');
  assert.equal((await rpc(methods, 'eth_getTransactionCount', CREATE2_DEPLOYER.signer, 'latest')).result, '0x0');
});
