// The EVM time limit: a run that loops past it stops with ExecutionTimeLimit and writes nothing,
// whether a transaction, an eth_call or an eth_estimateGas; the VM then serves the next run as
// before; runs within the limit are untouched; a bad limit is refused; an expensive precompile
// estimated to pass the limit is refused before it runs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { bytesToHex } from '@ethereumjs/util';
import { Common, Mainnet } from '@ethereumjs/common';
import { CocoError } from '../../src/errors.js';
import { call, estimateGas } from '../../src/ethereum/call.js';
import { ExecutionBudget } from '../../src/ethereum/execution-budget.js';
import { contracts } from './contracts.js';
import { ETHER, TestChain, bytes, wallet } from './harness.js';

const LIMIT_MS = 50;
const probe = new ethers.Interface(contracts().Probe.abi as ethers.InterfaceAbi);
const alice = wallet(0);

function isTimeLimit(error: unknown): boolean {
  assert.ok(error instanceof CocoError, `expected a CocoError, got ${String(error)}`);
  assert.equal(error.code, 'ExecutionTimeLimit');
  assert.match(error.message, /execution timeout: the EVM ran for more than 50 ms/);
  return true;
}

test('an EVM run past the time limit stops, writes nothing, and leaves the VM serving', async () => {
  const chain = await TestChain.create({ timeLimit: { maxExecutionMs: LIMIT_MS, monotonicMs: () => performance.now() } });
  await chain.fund(alice.address, ETHER);
  const deployed = await chain.send(alice, { data: contracts().Probe.bytecode });
  assert.equal(deployed.receipt.status, 1);
  const address = bytesToHex(deployed.receipt.contractAddress!);
  const spin = bytes(probe.encodeFunctionData('spin'));
  const nonce = chain.nonceOf(alice.address);
  const version = chain.store.version;

  const started = performance.now();
  await assert.rejects(chain.send(alice, { to: address, data: probe.encodeFunctionData('spin'), gasLimit: 16_000_000n }), isTimeLimit);
  assert.ok(performance.now() - started < 5_000, 'the run was stopped, not left to use its 16M gas');
  assert.equal(chain.nonceOf(alice.address), nonce, 'the refused transaction spent no nonce');
  assert.equal(chain.store.version, version, 'nothing was committed');

  await assert.rejects(chain.read((tx) => call(tx, { to: bytes(address), data: spin, gas: 16_000_000n }, chain.context)), isTimeLimit);
  await assert.rejects(chain.read((tx) => estimateGas(tx, { to: bytes(address), data: spin }, chain.context)), isTimeLimit);

  // The VM is intact: a short transaction after the stopped ones runs and commits.
  const set = await chain.send(alice, { to: address, data: probe.encodeFunctionData('set', [7n]) });
  assert.equal(set.receipt.status, 1);
  const value = await chain.read((tx) => call(tx, { to: bytes(address), data: bytes(probe.encodeFunctionData('value')) }, chain.context));
  assert.equal(BigInt(bytesToHex(value.returnValue)), 7n);
});

test('an estimate whose runs pass the limit together answers the lowest gas found to succeed, not a timeout', async () => {
  // A clock that moves only when read, by a step the test sets: runs are measured in reads.
  const clock = { nowMs: 0, msPerRead: 0, reads: 0 };
  const monotonicMs = () => {
    clock.reads++;
    return (clock.nowMs += clock.msPerRead);
  };
  const chain = await TestChain.create({ timeLimit: { maxExecutionMs: 1000, monotonicMs } });
  // Runtime code that counts 20,000 down to 0 and stops, whatever gas it gets past what that takes.
  const loop = bytes('0x614e205b600190038060035700');
  const at = bytes('0x' + '42'.repeat(20));
  const params = { to: at, overrides: [{ address: at, code: loop }] };
  const once = await chain.read((tx) => call(tx, params, chain.context));
  assert.equal(once.status, 1);
  // Each run alone takes two thirds of the limit: the second run of the search passes it.
  const readsBefore = clock.reads;
  await chain.read((tx) => call(tx, params, chain.context));
  clock.msPerRead = 1000 / 1.5 / (clock.reads - readsBefore);
  const estimate = await chain.read((tx) => estimateGas(tx, params, chain.context));
  assert.equal(estimate, once.gasLimit, 'the gas of the first run, known to succeed');
  clock.msPerRead = 0;
  assert.equal((await chain.read((tx) => call(tx, { ...params, gas: estimate }, chain.context))).status, 1);
});

test('a loop that runs out of gas within the limit ends as out of gas, as without a limit', async () => {
  const chain = await TestChain.create({ timeLimit: { maxExecutionMs: 60_000, monotonicMs: () => performance.now() } });
  await chain.fund(alice.address, ETHER);
  const deployed = await chain.send(alice, { data: contracts().Probe.bytecode });
  const address = bytesToHex(deployed.receipt.contractAddress!);
  const result = await chain.send(alice, { to: address, data: probe.encodeFunctionData('spin'), gasLimit: 200_000n });
  assert.equal(result.receipt.status, 0);
  assert.equal(result.error, 'out of gas');
});

test('the limit must be a positive whole number of ms', () => {
  const common = new Common({ chain: Mainnet });
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new ExecutionBudget(common, () => 0, bad), (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument');
  }
});

test("runs that share an allowance stop once together they have used the limit, saying the request's time is used up; a run of its own has the whole limit", async () => {
  const common = new Common({ chain: Mainnet });
  let nowMs = 0;
  const budget = new ExecutionBudget(common, () => nowMs, 100);
  const steps = (ms: number) => async () => {
    nowMs += ms;
    for (let i = 0; i < 4096; i++) common.isActivatedEIP(1559);
  };
  const allowance = budget.allowance();
  await budget.within(steps(60), allowance);
  assert.equal(allowance.remainingMs, 40);
  const requestTimeUsedUp = (error: unknown) =>
    error instanceof CocoError && error.code === 'ExecutionTimeLimit' && /^execution timeout: this request's elements used up its 100 ms/.test(error.message);
  // Stopped where the allowance ended, well before a run's own limit: the message says which ended.
  await assert.rejects(budget.within(steps(50), allowance), requestTimeUsedUp);
  await budget.within(steps(50));
  const evmRanTooLong = (error: unknown) => error instanceof CocoError && /^execution timeout: the EVM ran for more than 100 ms/.test(error.message);
  await assert.rejects(budget.within(steps(150)), evmRanTooLong);
  // A run that had most of the allowance (its own request's decoding took a little) ran too long itself.
  await assert.rejects(budget.within(steps(150), { remainingMs: 95 }), evmRanTooLong);
  // A spent allowance stops a run before it starts, however short (the clock is looked at every few thousand steps).
  let ran = false;
  await assert.rejects(budget.within(async () => (ran = true), { remainingMs: 0 }), requestTimeUsedUp);
  assert.equal(ran, false);
  // Outside a run, the chain rules answer as before and never throw.
  nowMs += 1_000_000;
  for (let i = 0; i < 4096; i++) assert.equal(common.isActivatedEIP(1559), true);
});

test('an expensive precompile whose estimated time passes what is left of the limit fails the run before it starts', async () => {
  // The clock stands still: only the precompiles' estimates from their input can stop these runs.
  const chain = await TestChain.create({ timeLimit: { maxExecutionMs: LIMIT_MS, monotonicMs: () => 0 } });
  await chain.fund(alice.address, ETHER);
  const precompile = (address: number) => bytes(ethers.zeroPadValue(ethers.toBeHex(address), 20));
  const blake2f = (rounds: number) => bytes(ethers.concat([ethers.toBeHex(rounds, 4), new Uint8Array(208), '0x01']));
  const tooLong: Array<[number, Uint8Array]> = [
    [0x08, new Uint8Array(5 * 192)], // BN254 pairing, 5 pairs
    [0x09, blake2f(100_000)],
    [0x0c, new Uint8Array(7 * 160)], // BLS G1 MSM, 7 pairs
    [0x0e, new Uint8Array(3 * 288)], // BLS G2 MSM, 3 pairs
    [0x0f, new Uint8Array(5 * 384)], // BLS pairing, 5 pairs
  ];
  for (const [address, data] of tooLong) {
    await assert.rejects(chain.read((tx) => call(tx, { to: precompile(address), data }, chain.context)), isTimeLimit, `precompile ${address}`);
  }
  const short = await chain.read((tx) => call(tx, { to: precompile(0x09), data: blake2f(12) }, chain.context));
  assert.equal(short.status, 1, 'a short precompile call runs');

  const nonce = chain.nonceOf(alice.address);
  const [, g2msm] = tooLong[3]!;
  await assert.rejects(chain.send(alice, { to: ethers.hexlify(precompile(0x0e)), data: ethers.hexlify(g2msm) }), isTimeLimit);
  assert.equal(chain.nonceOf(alice.address), nonce, 'the refused transaction spent no nonce');
});
