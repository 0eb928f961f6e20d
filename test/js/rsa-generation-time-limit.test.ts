// ccf.crypto.generateRsaKeyPair generates on the spot when no pair of its shape is ready, which
// takes up to seconds for 4096 bits: that time is the host's, not the handler's, so it does not
// count against the call's time limit (a QA pass saw first calls of a shape fail with "Operation
// took too long to complete." and their pair thrown away). The handler's own work still does.
// The test host's clock moves only when read, so a generation "takes" exactly what the stand-in
// source adds to it.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { CocoError } from '../../src/errors.js';
import { rsaKeyPairOptions, type PemKeyPair } from '../../src/js/ccf-crypto.js';
import { HOST_WORK_OUTSIDE_LIMIT_MS_MAX } from '../../src/js/interpreter.js';
import { interpreterWith, TEST_LIMITS, testCall, type TestHost } from './js-test-host.js';

const PAIR: PemKeyPair = generateKeyPairSync('rsa', rsaKeyPairOptions(2048, 65537));
/** Five times the test limit: one generation alone would time a call out if it counted. */
const GENERATION_MS = 5 * TEST_LIMITS.maxExecutionTimeMs!;

/** A key pair source standing in for a generation that takes GENERATION_MS of the host's clock. */
function slowSource(host: TestHost): { take(): PemKeyPair } {
  return {
    take() {
      host.monotonicReads += GENERATION_MS;
      return PAIR;
    },
  };
}

test('a key pair generated during a call does not count against its time limit, and the work of the handler itself still does', async () => {
  const js = await interpreterWith({
    '/app.js': `
      export function generate() {
        const pair = ccf.crypto.generateRsaKeyPair(2048);
        // Another host call: each checks the time limit as it starts.
        ccf.crypto.generateAesKey(256);
        return pair.publicKey;
      }
      export function generateThenSpin() {
        ccf.crypto.generateRsaKeyPair(2048);
        for (;;) {}
      }`,
  });
  const { env, host } = testCall();
  host.rsaKeyPairs = slowSource(host);
  assert.equal(js.call('/app.js', 'generate', [], env), PAIR.publicKey);
  assert.throws(
    () => js.call('/app.js', 'generateThenSpin', [], env),
    (error: unknown) => error instanceof CocoError && error.code === 'JsExecutionTimeout' && error.message === 'Operation took too long to complete.',
  );
  js.dispose();
});

test('no more than HOST_WORK_OUTSIDE_LIMIT_MS_MAX of a call is outside its limit: a handler that generates pair after pair is stopped (QA: 8 pairs held the primary 26 s)', async () => {
  const js = await interpreterWith({
    '/app.js': `
      export function generateMany(n) {
        for (let i = 0; i < n; i++) ccf.crypto.generateRsaKeyPair(2048);
        return n;
      }`,
  });
  const { env, host } = testCall();
  host.rsaKeyPairs = slowSource(host);
  const excludedPairs = HOST_WORK_OUTSIDE_LIMIT_MS_MAX / GENERATION_MS;
  assert.equal(js.call('/app.js', 'generateMany', [excludedPairs], env), excludedPairs, 'as many as the allowance covers');
  const before = host.monotonicReads;
  assert.throws(
    () => js.call('/app.js', 'generateMany', [50], env),
    (error: unknown) => error instanceof CocoError && error.code === 'JsExecutionTimeout',
  );
  // Stopped at the first check once the allowance and the limit are spent, not after 50 pairs.
  assert.ok(host.monotonicReads - before <= HOST_WORK_OUTSIDE_LIMIT_MS_MAX + TEST_LIMITS.maxExecutionTimeMs! + 2 * GENERATION_MS, `${host.monotonicReads - before} ms`);
  js.dispose();
});
