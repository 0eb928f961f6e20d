// The service's clock from the nodes' readings: the lower median, so that one node's wrong clock,
// ahead or behind, moves nothing while most are right; readings too old, and nodes outside the
// configuration, do not count.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CocoError } from '../../src/errors.js';
import {
  CLOCK_READING_FRESH_MS,
  clockSkewWarning,
  decodeClockReading,
  encodeClockReading,
  ServiceClock,
} from '../../src/node/service-clock.js';

const DAY_MS = 86_400_000;
const REAL_MS = Date.parse('2026-12-07T12:00:00Z');

/** A node whose own clock reads `skewMs` off real time, with a hand-driven monotonic clock. */
function nodeClock(skewMs: number) {
  const time = { real: REAL_MS, monotonic: 0 };
  const clock = new ServiceClock(() => time.real + skewMs, () => time.monotonic);
  return { clock, time };
}

describe('the service clock', () => {
  it('is the real time on a node 300 days ahead, and on one 2 hours behind, when the two others are right', () => {
    for (const skewMs of [300 * DAY_MS, -2 * 3_600_000]) {
      const { clock } = nodeClock(skewMs);
      clock.record('b', REAL_MS);
      clock.record('c', REAL_MS);
      assert.equal(clock.nowMs(['b', 'c']), REAL_MS);
      assert.equal(clock.ownSkewMs(['b', 'c']), skewMs);
    }
  });

  it('is not moved by one peer whose clock is wrong', () => {
    const { clock } = nodeClock(0);
    clock.record('b', REAL_MS + 300 * DAY_MS);
    clock.record('c', REAL_MS - 5);
    assert.equal(clock.nowMs(['b', 'c']), REAL_MS);
    clock.record('b', REAL_MS - 300 * DAY_MS);
    assert.equal(clock.nowMs(['b', 'c']), REAL_MS - 5);
  });

  it('takes the earlier of two clocks: time stamped ahead cannot be taken back', () => {
    const ahead = nodeClock(300 * DAY_MS);
    ahead.clock.record('b', REAL_MS);
    assert.equal(ahead.clock.nowMs(['b']), REAL_MS);
    const right = nodeClock(0);
    right.clock.record('b', REAL_MS + 300 * DAY_MS);
    assert.equal(right.clock.nowMs(['b']), REAL_MS);
  });

  it("is the node's own clock when it has heard from no peer, from a stale one, or only from nodes outside its configuration", () => {
    const { clock, time } = nodeClock(3_600_000);
    assert.equal(clock.nowMs([]), REAL_MS + 3_600_000);
    clock.record('b', REAL_MS);
    clock.record('c', REAL_MS);
    assert.equal(clock.nowMs(['d', 'e']), REAL_MS + 3_600_000);
    time.monotonic += CLOCK_READING_FRESH_MS + 1;
    assert.equal(clock.nowMs(['b', 'c']), REAL_MS + 3_600_000);
    clock.record('b', REAL_MS);
    clock.record('c', REAL_MS);
    assert.equal(clock.nowMs(['b', 'c']), REAL_MS);
  });

  it("is not moved by this node's own clock jumping ahead between two readings", () => {
    const { clock, time } = nodeClock(0);
    let jump = 0;
    const jumpable = new ServiceClock(() => time.real + jump, () => time.monotonic);
    jumpable.record('b', REAL_MS);
    jumpable.record('c', REAL_MS);
    time.real += 1_000;
    time.monotonic += 1_000;
    jump = 300 * DAY_MS;
    assert.equal(jumpable.nowMs(['b', 'c']), REAL_MS + 1_000);
    assert.equal(jumpable.ownSkewMs(['b', 'c']), 300 * DAY_MS);
    assert.equal(clock.nowMs([]), REAL_MS + 1_000);
  });

  it('follows the real time as it passes, the readings carried forward by the monotonic clock', () => {
    const { clock, time } = nodeClock(300 * DAY_MS);
    clock.record('b', REAL_MS);
    clock.record('c', REAL_MS);
    time.real += 5_000;
    time.monotonic += 5_000;
    assert.equal(clock.nowMs(['b', 'c']), REAL_MS + 5_000);
  });
});

describe('clock readings on the wire', () => {
  it('carry a time in milliseconds, and anything else is refused', () => {
    assert.equal(decodeClockReading(encodeClockReading(REAL_MS + 0.5)), REAL_MS + 0.5);
    for (const payload of [new Uint8Array(7), new Uint8Array(9), encodeClockReading(NaN), encodeClockReading(Infinity)]) {
      assert.throws(() => decodeClockReading(payload), (error) => error instanceof CocoError && error.code === 'InvalidClockReading');
    }
  });
});

describe('the skew warning', () => {
  it('says how far and which way, only past the threshold', () => {
    assert.equal(clockSkewWarning(5_000), undefined);
    assert.equal(clockSkewWarning(-5_000), undefined);
    assert.match(clockSkewWarning(300 * DAY_MS + 3 * 3_600_000)!, /^this node's clock is 300 d 3 h ahead of the service's .*set it right \(NTP\)/);
    assert.match(clockSkewWarning(-2 * 3_600_000 - 90_000)!, /^this node's clock is 2 h 1 min behind the service's/);
  });
});
