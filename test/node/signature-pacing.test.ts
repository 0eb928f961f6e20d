// Signature pacing: signatures spaced to three times their cost while the event loop has time to
// spare, six times once it is saturated (averaged, so one odd interval changes nothing); and the
// event-loop busy share the node feeds it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { eventLoopBusyShareSince } from '../../src/node/event-loop-busy.js';
import { EVENT_LOOP_BUSY, SIGNATURE_CPU_SHARE_INVERSE, SIGNATURE_CPU_SHARE_INVERSE_BUSY, SignaturePacing } from '../../src/node/signature-pacing.js';

/** A pacing that has seen `count` signatures of `costMs` each with the loop `busyShare` busy. */
function pacedBy(count: number, costMs: number, busyShare: number): SignaturePacing {
  const pacing = new SignaturePacing();
  for (let i = 0; i < count; i++) pacing.record(costMs, busyShare);
  return pacing;
}

describe('signature pacing', () => {
  it('spaces signatures by ledger_signatures.delay_ms before any was measured, and when they are cheap', () => {
    assert.equal(new SignaturePacing().spacingMs(5), 5);
    assert.equal(pacedBy(200, 0.5, 0).spacingMs(5), 5);
    assert.equal(pacedBy(200, 0.5, 1).spacingMs(5), 5);
  });

  it('keeps signing to a third of the time while the event loop has time to spare', () => {
    const pacing = pacedBy(200, 4, 0.8);
    assert.equal(pacing.busy, false);
    assert.ok(Math.abs(pacing.spacingMs(1) - 4 * SIGNATURE_CPU_SHARE_INVERSE) < 1e-6);
  });

  it('keeps signing to a sixth of the time once the event loop is saturated', () => {
    const pacing = pacedBy(200, 4, 1);
    assert.equal(pacing.busy, true);
    assert.ok(Math.abs(pacing.spacingMs(1) - 4 * SIGNATURE_CPU_SHARE_INVERSE_BUSY) < 1e-6);
    assert.ok(SIGNATURE_CPU_SHARE_INVERSE_BUSY > SIGNATURE_CPU_SHARE_INVERSE);
  });

  it('follows the averages, not one odd signature', () => {
    const pacing = pacedBy(200, 4, 0.5);
    pacing.record(4, 1);
    assert.equal(pacing.busy, false, 'one busy interval after many quiet ones');
    for (let i = 0; i < 100; i++) pacing.record(4, 1);
    assert.equal(pacing.busy, true, 'a sustained saturation');
    for (let i = 0; i < 100; i++) pacing.record(4, EVENT_LOOP_BUSY - 0.1);
    assert.equal(pacing.busy, false, 'the load went down again');
  });

  it('takes an out-of-range busy share as its bound', () => {
    const pacing = pacedBy(200, 4, 7);
    assert.equal(pacing.busy, true);
    assert.equal(pacedBy(200, 4, -3).busy, false);
    assert.ok(Math.abs(pacing.spacingMs(1) - 4 * SIGNATURE_CPU_SHARE_INVERSE_BUSY) < 1e-6);
  });
});

describe('event loop busy share', () => {
  it('is near 1 over a window the loop spent running code and near 0 over one it spent waiting', async () => {
    const busyShare = eventLoopBusyShareSince();
    await sleep(1); // the window starts in a fresh turn of the loop
    busyShare();
    const until = performance.now() + 100;
    while (performance.now() < until); // a callback that holds the loop
    await sleep(1);
    const busy = busyShare();
    await sleep(100);
    const idle = busyShare();
    assert.ok(busy > 0.5 && busy <= 1, `busy window: ${busy}`);
    assert.ok(idle >= 0 && idle < 0.5, `idle window: ${idle}`);
  });
});
