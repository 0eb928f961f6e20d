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
import { interpreterWith, TEST_LIMITS, testCall, type TestHost } from './js-test-host.js';

const PAIR: PemKeyPair = generateKeyPairSync('rsa', rsaKeyPairOptions(2048, 65537));
const GENERATION_MS = 100 * TEST_LIMITS.maxExecutionTimeMs!;

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
