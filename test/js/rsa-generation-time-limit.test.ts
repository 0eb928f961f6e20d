// ccf.crypto.generateRsaKeyPair takes a pair from the node's source, which may wait for one only
// during half of what is left of the call's time limit: making a 4096-bit pair on the spot held the event loop
// 0.3-3 s, and a QA pass deposed the primary eight times with eight calls. The wait counts against
// the limit like the handler's own work, so a handler that asks again and again is stopped there.
// The test host's clock moves only when read, so a wait "takes" exactly what the stand-in source
// adds to it.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { CocoError } from '../../src/errors.js';
import { rsaKeyPairOptions, type PemKeyPair, type RsaKeyPairSource } from '../../src/js/ccf-crypto.js';
import { interpreterWith, TEST_LIMITS, testCall, type TestHost } from './js-test-host.js';

const PAIR: PemKeyPair = generateKeyPairSync('rsa', rsaKeyPairOptions(2048, 65537));
const LIMIT_MS = TEST_LIMITS.maxExecutionTimeMs!;

/** A source that waits all it is allowed (on the host's clock) and hands out a pair only when `ready`. */
function waitingSource(host: TestHost, ready: () => boolean, waits: number[]): RsaKeyPairSource {
  return {
    prepare() {},
    take(_bits, _exponent, waitMs) {
      waits.push(waitMs);
      if (ready()) return PAIR;
      host.monotonicReads += Math.ceil(waitMs);
      return undefined;
    },
  };
}

test('a call waits for a pair only within the rest of its time limit, and one that came in time is returned', async () => {
  const js = await interpreterWith({
    '/app.js': `
      export function generate() {
        return ccf.crypto.generateRsaKeyPair(2048).publicKey;
      }
      export function generateOrSay() {
        try {
          return ccf.crypto.generateRsaKeyPair(4096).publicKey;
        } catch (e) {
          // Host calls still run: the wait left the handler half of its time (QA: Date.now() or
          // console.log in the catch failed the call when the wait took it all).
          console.log('no pair yet');
          return e.message;
        }
      }`,
  });
  const { env, host } = testCall();
  const waits: number[] = [];
  let ready = true;
  host.rsaKeyPairs = waitingSource(host, () => ready, waits);
  assert.equal(js.call('/app.js', 'generate', [], env), PAIR.publicKey);
  ready = false;
  assert.match(String(js.call('/app.js', 'generateOrSay', [], env)), /^no 4096-bit RSA key pair with public exponent 65537 was ready, .* try again shortly$/);
  assert.equal(waits.length, 2);
  for (const waitMs of waits) assert.ok(waitMs > 0 && waitMs <= LIMIT_MS / 2, `a wait within half of the limit: ${waitMs} ms`);
  js.dispose();
});

test('the wait counts against the time limit: a handler that asks for pair after pair is stopped at its limit (QA: eight calls held a primary 26 s)', async () => {
  const js = await interpreterWith({
    '/app.js': `
      export function generateMany(n) {
        for (let i = 0; i < n; i++) {
          try { ccf.crypto.generateRsaKeyPair(2048, 3 + 2 * i); } catch (e) { if (e.message.startsWith('Operation took too long')) throw e; }
        }
        return n;
      }`,
  });
  const { env, host } = testCall();
  const waits: number[] = [];
  host.rsaKeyPairs = waitingSource(host, () => false, waits);
  const before = host.monotonicReads;
  assert.throws(
    () => js.call('/app.js', 'generateMany', [50], env),
    (error: unknown) => error instanceof CocoError && error.code === 'JsExecutionTimeout' && error.message === 'Operation took too long to complete.',
  );
  assert.ok(waits.length < 50, `stopped after ${waits.length} calls`);
  // The clock moved by the limit and a few reads, not by 50 waits.
  assert.ok(host.monotonicReads - before <= 2 * LIMIT_MS, `${host.monotonicReads - before} ms`);
  js.dispose();
});
