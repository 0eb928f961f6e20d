// The point evaluation precompile (0x0a, EIP-4844): the execution-specs' valid input answers
// FIELD_ELEMENTS_PER_BLOB and the BLS modulus, as a call and as a transaction; a changed proof, a
// commitment that does not match the versioned hash, and a wrong length each fail the call. Loading
// the KZG library on first use leaves the event loop free and does not count against the EVM time
// limit; the verification's own estimate does.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ethers } from 'ethers';
import { Common, Mainnet } from '@ethereumjs/common';
import { CocoError } from '../../src/errors.js';
import { call } from '../../src/ethereum/call.js';
import { ExecutionBudget } from '../../src/ethereum/execution-budget.js';
import { ETHER, TestChain, bytes, wallet } from './harness.js';

const POINT_EVALUATION = bytes('0x000000000000000000000000000000000000000a');
const VERSIONED_HASH = '01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b';
const Z = '564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306';
const Y = '24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1';
const COMMITMENT = '8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7';
const PROOF = '873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a';
const VALID = `0x${VERSIONED_HASH}${Z}${Y}${COMMITMENT}${PROOF}`;
/** 4096 field elements per blob, then the BLS12-381 scalar field's modulus, each as 32 bytes. */
const ANSWER = '0x0000000000000000000000000000000000000000000000000000000000001000'
  + '73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001';

/** `hex` with its byte at `index` (from the start, without 0x) changed. */
function flipByte(hex: string, index: number): string {
  const data = bytes(hex);
  data[index] = data[index]! ^ 0x01;
  return ethers.hexlify(data);
}

// First in the file: the process has not loaded the KZG library yet, and loading it (a module of
// 800 KB, the trusted setup, the first pairing while V8 compiles it) takes longer than this limit.
// On the event loop it held a node 0.6 to 2 s, long enough for the other nodes to elect a new primary.
test('the first call loads the KZG library beside the event loop, outside the EVM time limit', async () => {
  const chain = await TestChain.create({ timeLimit: { maxExecutionMs: 100, monotonicMs: () => performance.now() } });
  const before = performance.eventLoopUtilization();
  const result = await chain.read((tx) => call(tx, { to: POINT_EVALUATION, data: bytes(VALID) }, chain.context));
  const { utilization } = performance.eventLoopUtilization(before);
  assert.equal(result.status, 1, `the first call ran: ${result.error}`);
  assert.equal(ethers.hexlify(result.returnValue), ANSWER);
  assert.ok(utilization < 0.5, `the event loop was busy ${Math.round(utilization * 100)}% of the first call's time, which loading takes`);
});

test('the point evaluation precompile answers the valid input and fails a changed proof, commitment or length', async () => {
  const chain = await TestChain.create();
  const valid = await chain.read((tx) => call(tx, { to: POINT_EVALUATION, data: bytes(VALID) }, chain.context));
  assert.equal(valid.status, 1);
  assert.equal(ethers.hexlify(valid.returnValue), ANSWER);

  const failures: Array<[string, string, string]> = [
    // In geth's words (core/vm/contracts.go, go-kzg-4844): the changed proof is a curve point outside the subgroup.
    ['a proof with one byte changed', flipByte(VALID, 191), 'error verifying kzg proof: invalid point: subgroup check failed'],
    ['y with one byte changed', flipByte(VALID, 95), "error verifying kzg proof: can't verify opening proof"],
    ['a commitment that does not match the versioned hash', flipByte(VALID, 143), 'mismatched versioned hash'],
    ['a short input', VALID.slice(0, -2), 'invalid input length'],
  ];
  for (const [what, data, error] of failures) {
    const result = await chain.read((tx) => call(tx, { to: POINT_EVALUATION, data: bytes(data) }, chain.context));
    assert.equal(result.status, 0, what);
    assert.equal(result.error, error, what);
  }

  // As a transaction: included with status 1; a failed verification is included with status 0, its gas spent.
  const alice = wallet(0);
  await chain.fund(alice.address, ETHER);
  const sent = await chain.send(alice, { to: ethers.hexlify(POINT_EVALUATION), data: VALID, gasLimit: 200_000n });
  assert.equal(sent.receipt.status, 1);
  assert.equal(ethers.hexlify(sent.returnValue), ANSWER);
  const refused = await chain.send(alice, { to: ethers.hexlify(POINT_EVALUATION), data: flipByte(VALID, 191), gasLimit: 200_000n });
  assert.equal(refused.receipt.status, 0);
  assert.equal(refused.receipt.gasUsed, 200_000n, 'a failed precompile call spends all its gas');
});

test('a point evaluation is refused before it runs when its estimate passes what is left of the limit', async () => {
  // The clock stands still: only the verification's estimate (25 ms) can stop this run.
  const chain = await TestChain.create({ timeLimit: { maxExecutionMs: 20, monotonicMs: () => 0 } });
  await assert.rejects(
    chain.read((tx) => call(tx, { to: POINT_EVALUATION, data: bytes(VALID) }, chain.context)),
    (error: unknown) => error instanceof CocoError && error.code === 'ExecutionTimeLimit',
  );
});

test('time spent outside a run moves its deadline and is not taken from a shared allowance', async () => {
  const common = new Common({ chain: Mainnet });
  let nowMs = 0;
  const budget = new ExecutionBudget(common, () => nowMs, 100);
  const allowance = budget.allowance();
  await budget.within(async () => {
    nowMs += 60;
    await budget.outside(async () => {
      nowMs += 1_000;
    });
    nowMs += 30;
    // Past the original deadline by 990 ms, within the moved one: no step throws.
    for (let i = 0; i < 4096; i++) common.isActivatedEIP(1559);
    budget.ensure(9);
    assert.throws(() => budget.ensure(11), (error: unknown) => error instanceof CocoError && error.code === 'ExecutionTimeLimit');
  }, allowance);
  assert.equal(allowance.remainingMs, 10);
});
