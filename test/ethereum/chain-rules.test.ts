import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Common, Hardfork } from '@ethereumjs/common';
import { createChainCommon, keepEipAnswers } from '../../src/ethereum/chain-rules.js';
import { CHAIN_ID } from './harness.js';

/** Every EIP number Common could be asked about here, and some it never lists. */
const EIPS = Array.from({ length: 10_000 }, (_, eip) => eip);

function answers(common: Common): boolean[] {
  return EIPS.map((eip) => common.isActivatedEIP(eip));
}

test('kept EIP answers are Common\'s own, asked twice', () => {
  const kept = createChainCommon(CHAIN_ID);
  keepEipAnswers(kept);
  const expected = answers(createChainCommon(CHAIN_ID));
  assert.ok(expected.filter(Boolean).length > 20, 'the chain activates its hard forks\' EIPs');
  assert.deepEqual(answers(kept), expected);
  assert.deepEqual(answers(kept), expected);
  for (const odd of [-1, 1.5, 20_000, Number.NaN]) assert.equal(kept.isActivatedEIP(odd), false);
});

test('kept EIP answers follow a change of hard fork and EIPs set later', () => {
  const kept = createChainCommon(CHAIN_ID);
  keepEipAnswers(kept);
  assert.equal(kept.isActivatedEIP(1153), true, 'transient storage (Cancun) is active under Osaka');
  kept.setHardfork(Hardfork.London);
  assert.equal(kept.isActivatedEIP(1153), false, 'not under London');
  const london = createChainCommon(CHAIN_ID);
  london.setHardfork(Hardfork.London);
  assert.deepEqual(answers(kept), answers(london));
  assert.equal(kept.isActivatedEIP(3855), false, 'PUSH0 (Shanghai) is not active under London');
  kept.setEIPs([3855]);
  assert.equal(kept.isActivatedEIP(3855), true, 'an EIP set later is active');
});
