// A node's timers run on a monotonic clock and only what it records (the time in its signatures)
// on the wall clock: a wall clock stepped back (NTP, an operator) must not stall signatures, commit or
// elections for the size of the step, as it did when both were Date.now.

import assert from 'node:assert/strict';
import test from 'node:test';
import { decodeCoseSign1 } from '../../src/crypto/cose-sign1.js';
import { writeRecord } from '../support/records.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { COSE_SIGNATURES_MAP, decodeCoseSignatureValue } from '../../src/ledger/signature.js';

const HOUR_MS = 3_600_000;

test('transactions commit while the wall clock goes back an hour at every look, and signatures record that clock', async (t) => {
  const start = Date.now();
  let wall = start;
  const instance = startInProcessNode({ signatureTxCount: 3, wallClockMs: () => (wall -= HOUR_MS) });
  t.after(() => instance.close());
  for (let round = 0; round < 3; round++) {
    const written = [0, 1, 2, 3].map((i) => writeRecord(instance.node, `k${round}.${i}`, 'v'));
    await instance.node.waitForCommit(written.at(-1)!.seqno);
  }
  const cose = instance.node.execute((tx) => ({ result: tx.map(COSE_SIGNATURES_MAP).get(new Uint8Array(8)), applyWrites: false })).result;
  assert.ok(cose !== undefined);
  // CWT claims (header 15), iat (claim 6): when the service signed, as CCF records it.
  const claims = decodeCoseSign1(decodeCoseSignatureValue(cose)).protectedHeader.get(15) as Map<number, number>;
  const seconds = claims.get(6)!;
  assert.ok(seconds * 1000 < start - HOUR_MS, `the signature's time ${seconds} comes from the wall clock, hours back`);
});

test("every signature of a node names, as its CWT iss and sub, the cose_signatures its service's genesis recorded; empty ones without", async (t) => {
  const claimsOf = async (options: Parameters<typeof startInProcessNode>[0]) => {
    const instance = startInProcessNode({ signatureTxCount: 2, ...options });
    t.after(() => instance.close());
    const seen: unknown[][] = [];
    for (let round = 0; round < 2; round++) {
      const written = [0, 1].map((i) => writeRecord(instance.node, `k${round}.${i}`, 'v'));
      await instance.node.waitForCommit(written.at(-1)!.seqno);
      const cose = instance.node.execute((tx) => ({ result: tx.map(COSE_SIGNATURES_MAP).get(new Uint8Array(8)), applyWrites: false })).result!;
      const claims = decodeCoseSign1(decodeCoseSignatureValue(cose)).protectedHeader.get(15) as Map<number, unknown>;
      seen.push([claims.get(1), claims.get(2)]);
    }
    return seen;
  };
  assert.deepEqual(await claimsOf({ coseSignatures: { issuer: 'ledger.example.com', subject: 'scitt.ccf.signature.v1' } }), [
    ['ledger.example.com', 'scitt.ccf.signature.v1'],
    ['ledger.example.com', 'scitt.ccf.signature.v1'],
  ]);
  assert.deepEqual(await claimsOf({}), [['', ''], ['', '']]);
});
