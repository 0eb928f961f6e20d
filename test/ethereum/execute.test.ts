import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ethers } from 'ethers';
import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../../src/errors.js';
import { Tables, encodeJson } from '../../src/governance/builtin-tables.js';
import { readAccount, readStorage } from '../../src/ethereum/account-state.js';
import { call, estimateGas, type AccountOverride } from '../../src/ethereum/call.js';
import { decodeReceipt, storageKey } from '../../src/ethereum/ethereum-maps.js';
import { executeTransaction } from '../../src/ethereum/execute.js';
import { governanceKey } from '../../src/ethereum/governed-accounts.js';
import { ExecutionReverted } from '../../src/ethereum/revert.js';
import { decodeRawTransaction } from '../../src/ethereum/sender.js';
import { CREATE2_FACTORY_CREATION, PUSH0_CREATION, PUSH0_RUNTIME, contracts } from './contracts.js';
import { CHAIN_ID, ETHER, TestChain, bytes, wallet } from './harness.js';

const alice = wallet(0);
const bob = wallet(1);
const token = new ethers.Interface(contracts().Token.abi as ethers.InterfaceAbi);
const probe = new ethers.Interface(contracts().Probe.abi as ethers.InterfaceAbi);

async function fundedChain(): Promise<TestChain> {
  const chain = await TestChain.create();
  await chain.fund(alice.address, 100n * ETHER);
  return chain;
}

function balanceOf(chain: TestChain, address: string): bigint {
  return chain.read((tx) => readAccount(tx, chain.context.maps, bytes(address))?.balance ?? 0n);
}

async function deploy(chain: TestChain, bytecode: string, args = '0x'): Promise<string> {
  const result = await chain.send(alice, { data: ethers.concat([bytecode, args]) });
  assert.equal(result.receipt.status, 1, `deployment failed: ${result.error}`);
  assert.ok(result.receipt.contractAddress);
  return bytesToHex(result.receipt.contractAddress);
}

async function deployToken(chain: TestChain): Promise<string> {
  return deploy(chain, contracts().Token.bytecode, token.encodeDeploy(['Coco Token', 'COCO', 1_000_000n * ETHER]));
}

async function expectRefusal(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CocoError, `expected a CocoError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe('value transfers', () => {
  test('moves the value, spends the nonce and costs 21000 gas at gas price 0', async () => {
    const chain = await fundedChain();
    const result = await chain.send(alice, { to: bob.address, value: ETHER, gasLimit: 21_000n });
    assert.equal(result.receipt.status, 1);
    assert.equal(result.receipt.gasUsed, 21_000n);
    assert.equal(result.blockNumber, 1n);
    assert.equal(balanceOf(chain, bob.address), ETHER);
    assert.equal(balanceOf(chain, alice.address), 99n * ETHER);
    assert.equal(chain.nonceOf(alice.address), 1);
  });

  test('legacy (EIP-155) and EIP-2930 transactions execute too', async () => {
    const chain = await fundedChain();
    await chain.send(alice, { type: 0, gasPrice: 0n, maxFeePerGas: undefined, maxPriorityFeePerGas: undefined, to: bob.address, value: 1n });
    await chain.send(alice, { type: 1, gasPrice: 0n, maxFeePerGas: undefined, maxPriorityFeePerGas: undefined, to: bob.address, value: 2n, accessList: [] });
    assert.equal(balanceOf(chain, bob.address), 3n);
    assert.equal(chain.nonceOf(alice.address), 2);
  });

  test('a priced transaction pays gas used × price to the coinbase', async () => {
    const chain = await fundedChain();
    const gwei = 10n ** 9n;
    await chain.send(alice, { to: bob.address, value: 1n, gasLimit: 50_000n, maxFeePerGas: 2n * gwei, maxPriorityFeePerGas: 2n * gwei });
    assert.equal(balanceOf(chain, alice.address), 100n * ETHER - 1n - 21_000n * 2n * gwei);
    assert.equal(balanceOf(chain, ethers.ZeroAddress), 21_000n * 2n * gwei);
  });

  test('each transaction gets the next block, chained to its parent', async () => {
    const chain = await fundedChain();
    const first = await chain.send(alice, { to: bob.address, value: 1n });
    const second = await chain.send(alice, { to: bob.address, value: 1n });
    assert.equal(second.blockNumber, 2n);
    chain.read((tx) => {
      const block = chain.context.blocks.get(tx, 2n);
      assert.deepEqual(block?.parentHash, first.blockHash);
      assert.deepEqual(block?.hash, second.blockHash);
      assert.deepEqual(block?.txHash, second.hash);
      assert.equal(chain.context.blocks.numberOf(tx, second.blockHash), 2n);
      assert.equal(chain.context.blocks.head(tx), 2n);
    });
  });
});

describe('refusals before execution', () => {
  test('nonce too low and nonce too high are refused with nothing written', async () => {
    const chain = await fundedChain();
    await chain.send(alice, { to: bob.address, value: 1n });
    await expectRefusal(chain.send(alice, { to: bob.address, value: 2n, nonce: 0 }), 'NonceTooLow', /^nonce too low: address 0x[0-9a-f]{40}, tx: 0 state: 1$/);
    await expectRefusal(chain.send(alice, { to: bob.address, value: 1n, nonce: 5 }), 'NonceTooHigh', /^nonce too high: .*tx: 5 state: 1/);
    assert.equal(chain.nonceOf(alice.address), 1);
    assert.equal(chain.read((tx) => chain.context.blocks.head(tx)), 1n);
  });

  test('insufficient funds for value, or for gas × price + value', async () => {
    const chain = await fundedChain();
    await expectRefusal(
      chain.send(bob, { to: alice.address, value: 1n }),
      'InsufficientFunds',
      /^insufficient funds for gas \* price \+ value: address 0x[0-9a-f]{40} have 0 want 1$/,
    );
    await chain.fund(bob.address, 21_000n);
    await expectRefusal(chain.send(bob, { to: alice.address, gasLimit: 21_000n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n }), 'InsufficientFunds', /have 21000 want 42000/);
    const result = await chain.send(bob, { to: alice.address, gasLimit: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
    assert.equal(result.receipt.status, 1);
    assert.equal(balanceOf(chain, bob.address), 0n);
  });

  test('intrinsic gas too low, and a gas limit over the block gas limit', async () => {
    const chain = await fundedChain();
    await expectRefusal(chain.send(alice, { to: bob.address, gasLimit: 20_999n }), 'IntrinsicGasTooLow', /^intrinsic gas too low: have 20999, want 21000$/);
    const small = await TestChain.create({ blockGasLimit: 100_000n });
    await small.fund(alice.address, ETHER);
    await expectRefusal(small.send(alice, { to: bob.address, gasLimit: 100_001n }), 'GasLimitExceeded', /^exceeds block gas limit/);
  });

  test('the same signed transaction again, once it ran, is refused by its nonce, as geth refuses a mined one', async () => {
    const chain = await fundedChain();
    const raw = await chain.sign(alice, { to: bob.address, value: 1n });
    await chain.execute(raw);
    await expectRefusal(chain.execute(raw), 'NonceTooLow', new RegExp(`^nonce too low: address ${alice.address.toLowerCase()}, tx: 0 state: 1$`));
  });
});

describe('contracts', () => {
  test('ERC-20 compiled with solc: deploy, transfer, balanceOf by call, Transfer log', async () => {
    const chain = await fundedChain();
    const address = await deployToken(chain);
    const result = await chain.send(alice, { to: address, data: token.encodeFunctionData('transfer', [bob.address, 250n]) });
    assert.equal(result.receipt.status, 1);
    assert.ok(result.receipt.gasUsed > 30_000n && result.receipt.gasUsed < 60_000n, `ERC-20 transfer gas ${result.receipt.gasUsed}`);
    assert.equal(result.receipt.logs.length, 1);
    const [log] = result.receipt.logs;
    assert.equal(bytesToHex(log!.address), address);
    assert.deepEqual(log!.topics.map(bytesToHex), [
      ethers.id('Transfer(address,address,uint256)'),
      ethers.zeroPadValue(alice.address, 32).toLowerCase(),
      ethers.zeroPadValue(bob.address, 32).toLowerCase(),
    ]);
    assert.equal(BigInt(bytesToHex(log!.data)), 250n);

    const balance = await chain.read((tx) => call(tx, { to: bytes(address), data: bytes(token.encodeFunctionData('balanceOf', [bob.address])) }, chain.context));
    assert.equal(balance.status, 1);
    assert.equal(token.decodeFunctionResult('balanceOf', bytesToHex(balance.returnValue))[0], 250n);
    const stored = chain.read((tx) => decodeReceipt(tx.map(chain.context.maps.receipts).get(result.hash)!));
    assert.deepEqual(stored, result.receipt);
  });

  test('a contract using PUSH0 (Shanghai) deploys and runs', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, PUSH0_CREATION);
    const code = chain.read((tx) => readAccount(tx, chain.context.maps, bytes(address)));
    assert.ok(code?.codeHash !== undefined);
    const result = await chain.read((tx) => call(tx, { to: bytes(address) }, chain.context));
    assert.equal(result.status, 1);
    assert.equal(BigInt(bytesToHex(result.returnValue)), 42n);
    assert.equal(bytesToHex(chain.read((tx) => tx.map(chain.context.maps.code).get(code.codeHash!)!)), `0x${PUSH0_RUNTIME}`);
  });

  test('a reverted transaction keeps its nonce increment and receipt, and changes no state', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, contracts().Probe.bytecode);
    await chain.send(alice, { to: address, data: probe.encodeFunctionData('set', [7n]) });
    const nonce = chain.nonceOf(alice.address);
    const result = await chain.send(alice, { to: address, data: probe.encodeFunctionData('setThenRevert', [9n]) });
    assert.equal(result.receipt.status, 0);
    assert.equal(result.error, 'revert');
    assert.deepEqual(result.receipt.logs, []);
    assert.equal(chain.nonceOf(alice.address), nonce + 1);
    const slot0 = chain.read((tx) => readStorage(tx, chain.context.blocks, bytes(address), new Uint8Array(32)));
    assert.equal(BigInt(bytesToHex(slot0)), 7n);
    const stored = chain.read((tx) => tx.map(chain.context.maps.receipts).get(result.hash));
    assert.ok(stored !== undefined);
    assert.equal(decodeReceipt(stored).status, 0);
  });

  test('revert with a reason: eth_call and estimateGas give the message and the revert data', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, contracts().Probe.bytecode);
    const data = bytes(probe.encodeFunctionData('setThenRevert', [1n]));
    const result = await chain.read((tx) => call(tx, { from: bytes(alice.address), to: bytes(address), data }, chain.context));
    assert.equal(result.status, 0);
    assert.equal(probe.parseError(bytesToHex(result.returnValue))?.args[0], 'Probe: refused');
    await assert.rejects(
      chain.read((tx) => estimateGas(tx, { to: bytes(address), data }, chain.context)),
      (error: unknown) => error instanceof ExecutionReverted && error.message === 'execution reverted: Probe: refused' && error.data.length > 4,
    );
  });

  test('eth_call and estimateGas run from an address that holds code, which still sees its code, as in geth', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, contracts().Probe.bytecode);
    const from = bytes(address);
    const asked = bytes(probe.encodeFunctionData('caller'));
    // From the contract to itself: the code that runs is its own, and it sees it as the caller's.
    const result = await chain.read((tx) => call(tx, { from, to: from, data: asked }, chain.context));
    assert.equal(result.status, 1, `the call ran: ${result.error}`);
    const [who, codeSize] = probe.decodeFunctionResult('caller', bytesToHex(result.returnValue)) as unknown as [string, bigint];
    assert.equal(who.toLowerCase(), address.toLowerCase());
    assert.ok(codeSize > 0n, 'the caller still holds its code during the call');
    const set = bytes(probe.encodeFunctionData('set', [5n]));
    assert.ok((await chain.read((tx) => estimateGas(tx, { from, to: from, data: set }, chain.context))) > 21_000n);
    // Nothing was written, and the contract's code and nonce are as they were.
    const value = await chain.read((tx) => call(tx, { to: from, data: bytes(probe.encodeFunctionData('value')) }, chain.context));
    assert.equal(BigInt(bytesToHex(value.returnValue)), 0n);
    const after = await chain.read((tx) => call(tx, { from: bytes(alice.address), to: from, data: asked }, chain.context));
    assert.equal(after.status, 1);
    assert.equal(chain.read((tx) => readAccount(tx, chain.context.maps, from))?.nonce, 1n);
  });

  test('a contract is created at an address that holds only ether: funded by a transfer, at genesis or by governance', async () => {
    const chain = await fundedChain();
    const factory = await deploy(chain, CREATE2_FACTORY_CREATION);
    const init = '0x600a6000f3'; // returns 10 zero bytes as code
    const salts = [1n, 2n, 3n].map((n) => ethers.toBeHex(n, 32));
    const [byTransfer, atGenesis, byGovernance] = salts.map((salt) => ethers.getCreate2Address(factory, salt, ethers.keccak256(init)));
    await chain.send(alice, { to: byTransfer, value: 1n });
    await chain.fund(atGenesis!, 1n);
    await chain.write((tx) => tx.map(Tables.ethereumBalances).set(governanceKey(bytes(byGovernance!)), encodeJson({ balance: '1' })));
    for (const [i, target] of [byTransfer, atGenesis, byGovernance].entries()) {
      const input = ethers.concat([salts[i]!, init]);
      const data = bytes(input);
      const called = await chain.read((tx) => call(tx, { from: bytes(alice.address), to: bytes(factory), data }, chain.context));
      assert.equal(called.status, 1, `eth_call: ${called.error}`);
      assert.equal(ethers.getAddress(ethers.dataSlice(bytesToHex(called.returnValue), 12)), target);
      assert.ok((await chain.read((tx) => estimateGas(tx, { from: bytes(alice.address), to: bytes(factory), data }, chain.context))) > 32_000n);
      const sent = await chain.send(alice, { to: factory, data: input });
      assert.equal(sent.receipt.status, 1, `transaction: ${sent.error}`);
      const created = chain.read((tx) => readAccount(tx, chain.context.maps, bytes(target!)));
      assert.deepEqual({ nonce: created?.nonce, balance: created?.balance, hasCode: created?.codeHash !== undefined }, { nonce: 1n, balance: 1n, hasCode: true });
    }
    // A plain deployment transaction to its funded future address, as a counterfactual wallet does.
    const next = ethers.getCreateAddress({ from: alice.address, nonce: chain.nonceOf(alice.address) + 1 });
    await chain.send(alice, { to: next, value: 1n });
    assert.equal(bytesToHex((await chain.send(alice, { data: init })).receipt.contractAddress!), next.toLowerCase());
  });

  test('CREATE2 to an address that has storage but no code and nonce 0 is a collision (EIP-7610)', async () => {
    const chain = await fundedChain();
    const factory = await deploy(chain, CREATE2_FACTORY_CREATION);
    const init = '0x600a6000f3';
    const salt = ethers.toBeHex(1n, 32);
    const target = ethers.getCreate2Address(factory, salt, ethers.keccak256(init));
    const input = ethers.concat([salt, init]);
    const data = bytes(input);
    const slot = new Uint8Array(32);
    await chain.fund(target, 1n);
    const createdBy = async (overrides?: AccountOverride[]): Promise<string> => {
      const result = await chain.read((tx) => call(tx, { to: bytes(factory), data, overrides }, chain.context));
      assert.equal(result.status, 1, `the factory runs: ${result.error}`);
      return ethers.getAddress(ethers.dataSlice(bytesToHex(result.returnValue), 12));
    };
    assert.equal(await createdBy(), target);
    // Storage seen by the call only (a state override), then zeroed again by the same override.
    assert.equal(await createdBy([{ address: bytes(target), stateDiff: [[slot, Uint8Array.of(1)]] }]), ethers.ZeroAddress);
    assert.equal(await createdBy([{ address: bytes(target), stateDiff: [[slot, new Uint8Array(32)]] }]), target);
    // Storage in the state itself (no Ethereum transaction leaves any there, so it is written directly).
    await chain.write((tx) => tx.map(chain.context.maps.storage).set(storageKey(bytes(target), slot), Uint8Array.of(1)));
    assert.equal(await createdBy(), ethers.ZeroAddress);
    assert.equal(await createdBy([{ address: bytes(target), stateDiff: [[slot, new Uint8Array(32)]] }]), target, 'the call zeroed the stored slot');
    assert.equal(await createdBy([{ address: bytes(target), state: [] }]), target, 'a state override replaces the storage');
    const sent = await chain.send(alice, { to: factory, data: input });
    assert.equal(sent.receipt.status, 1);
    assert.equal(chain.read((tx) => readAccount(tx, chain.context.maps, bytes(target)))?.codeHash, undefined, 'nothing was created');
  });

  test('a custom error reverts with its data and no reason string', async () => {
    const chain = await fundedChain();
    const address = await deployToken(chain);
    const data = bytes(token.encodeFunctionData('transferFrom', [alice.address, bob.address, 5n]));
    await assert.rejects(
      chain.read((tx) => estimateGas(tx, { from: bytes(bob.address), to: bytes(address), data }, chain.context)),
      (error: unknown) =>
        error instanceof ExecutionReverted &&
        error.message === 'execution reverted' &&
        token.parseError(bytesToHex(error.data))?.name === 'AllowanceExceeded',
    );
  });

  test('out of gas: status 0, the whole gas limit spent, no state change', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, contracts().Probe.bytecode);
    const result = await chain.send(alice, { to: address, gasLimit: 200_000n, data: probe.encodeFunctionData('spin') });
    assert.equal(result.receipt.status, 0);
    assert.equal(result.error, 'out of gas');
    assert.equal(result.receipt.gasUsed, 200_000n);
    const slot0 = chain.read((tx) => readStorage(tx, chain.context.blocks, bytes(address), new Uint8Array(32)));
    assert.equal(BigInt(bytesToHex(slot0)), 0n);
    await assert.rejects(
      chain.read((tx) => estimateGas(tx, { to: bytes(address), data: bytes(probe.encodeFunctionData('spin')) }, chain.context)),
      (error: unknown) => error instanceof CocoError && error.code === 'GasRequiredExceedsAllowance' && /^gas required exceeds allowance \(\d+\)$/.test(error.message),
    );
  });

  test('estimateGas finds a limit that suffices, and the transaction succeeds with it', async () => {
    const chain = await fundedChain();
    const address = await deployToken(chain);
    const data = token.encodeFunctionData('transfer', [bob.address, 1n]);
    const estimate = await chain.read((tx) => estimateGas(tx, { from: bytes(alice.address), to: bytes(address), data: bytes(data) }, chain.context));
    const result = await chain.send(alice, { to: address, data, gasLimit: estimate });
    assert.equal(result.receipt.status, 1);
    assert.ok(estimate - result.receipt.gasUsed < estimate / 50n + 3000n, `estimate ${estimate}, used ${result.receipt.gasUsed}`);
    const transfer = await chain.read((tx) => estimateGas(tx, { from: bytes(alice.address), to: bytes(bob.address), value: 1n }, chain.context));
    assert.equal(transfer, 21_000n);
  });

  test('estimateGas finds enough for a call the 63/64 rule starves at the gas it used', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, contracts().Probe.bytecode);
    const data = probe.encodeFunctionData('setViaCall', [7n]);
    const params = { from: bytes(alice.address), to: bytes(address), data: bytes(data) };
    const used = (await chain.read((tx) => call(tx, params, chain.context))).gasNeeded;
    const estimate = await chain.read((tx) => estimateGas(tx, params, chain.context));
    assert.ok(estimate > used && estimate < used + used / 20n, `estimate ${estimate}, used ${used}`);
    assert.equal((await chain.read((tx) => call(tx, { ...params, gas: used }, chain.context))).status, 0, 'the gas used alone is not enough');
    assert.equal((await chain.send(alice, { to: address, data, gasLimit: estimate })).receipt.status, 1);
  });

  test("estimateGas covers EIP-7623's calldata floor, above what execution uses", async () => {
    const chain = await fundedChain();
    const data = new Uint8Array(10_000).fill(0xab);
    const estimate = await chain.read((tx) => estimateGas(tx, { from: bytes(alice.address), to: bytes(bob.address), data }, chain.context));
    // Floor: 21000 + 10 gas per token, 4 tokens per non-zero byte; intrinsic is only 21000 + 16 per byte.
    assert.equal(estimate, 21_000n + 10n * 4n * 10_000n);
    const result = await chain.send(alice, { to: bob.address, data: ethers.hexlify(data), gasLimit: estimate });
    assert.equal(result.receipt.gasUsed, estimate);
    await expectRefusal(chain.send(alice, { to: bob.address, data: ethers.hexlify(data), gasLimit: estimate - 1n }), 'IntrinsicGasTooLow', /want 421000$/);
  });

  test('block number, timestamp, chain id and BLOCKHASH seen by contracts match the blocks', async () => {
    const chain = await fundedChain();
    const address = await deploy(chain, contracts().Probe.bytecode);
    chain.now_s += 30;
    const before = await chain.send(alice, { to: bob.address, value: 1n });
    const info = await chain.read((tx) => call(tx, { to: bytes(address), data: bytes(probe.encodeFunctionData('blockInfo')) }, chain.context));
    const [number, timestamp, chainId] = probe.decodeFunctionResult('blockInfo', bytesToHex(info.returnValue));
    assert.equal(number, before.blockNumber + 1n);
    assert.equal(timestamp, BigInt(chain.now_s));
    assert.equal(chainId, CHAIN_ID);
    const hash = await chain.read((tx) => call(tx, { to: bytes(address), data: bytes(probe.encodeFunctionData('previousBlockHash')) }, chain.context));
    assert.equal(bytesToHex(hash.returnValue), bytesToHex(before.blockHash));
  });

  test('block timestamps never go backwards when the clock does', async () => {
    const chain = await fundedChain();
    await chain.send(alice, { to: bob.address, value: 1n });
    chain.now_s -= 100;
    await chain.send(alice, { to: bob.address, value: 1n });
    chain.read((tx) => assert.equal(chain.context.blocks.get(tx, 2n)?.timestamp, chain.context.blocks.get(tx, 1n)?.timestamp));
  });
});

describe('Coco transactions', () => {
  test('execution writes only to the KV transaction it is given; a stale one conflicts at commit', async () => {
    const chain = await fundedChain();
    const first = decodeRawTransaction(await chain.sign(alice, { to: bob.address, value: 1n }), chain.context.common);
    const second = decodeRawTransaction(await chain.sign(alice, { to: bob.address, value: 2n, nonce: 1 }), chain.context.common);
    const tx1 = chain.store.beginTransaction();
    const tx2 = chain.store.beginTransaction();
    await executeTransaction(tx1, first, chain.context);
    // tx2 still sees nonce 0: the second transaction is too far ahead there.
    await expectRefusal(executeTransaction(tx2, second, chain.context), 'NonceTooHigh', /tx: 1 state: 0/);
    await executeTransaction(tx2, first, chain.context);
    assert.equal(balanceOf(chain, bob.address), 0n);
    chain.store.commit(tx1, chain.store.version + 1n);
    assert.throws(() => chain.store.commit(tx2, chain.store.version + 1n), (error: unknown) => error instanceof CocoError && error.code === 'TransactionConflict');
    assert.equal(balanceOf(chain, bob.address), 1n);
  });

  test('concurrent executions on one context are serialized', async () => {
    const chain = await fundedChain();
    await chain.fund(bob.address, ETHER);
    const raws = [await chain.sign(alice, { to: bob.address, value: 1n }), await chain.sign(bob, { to: alice.address, value: 1n })];
    const txs = raws.map(() => chain.store.beginTransaction());
    const results = await Promise.all(raws.map((raw, i) => executeTransaction(txs[i]!, decodeRawTransaction(raw, chain.context.common), chain.context)));
    assert.deepEqual(results.map((r) => r.receipt.status), [1, 1]);
  });
});
