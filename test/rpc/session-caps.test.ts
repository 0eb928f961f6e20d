// Session counting with CCF's caps, on its own: admission past the soft and hard caps, peaks, error
// counters and the shape `/node/metrics` reports.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionCounts } from '../../src/rpc/session-caps.js';

test('sessions are accepted up to the soft cap, answered 503 up to the hard cap, then refused', () => {
  const counts = new SessionCounts();
  counts.addInterface('primary', { soft: 2, hard: 3 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => counts.open('primary')), ['accept', 'accept', 'soft-capped', 'refuse', 'refuse']);
  counts.close('primary');
  assert.equal(counts.open('primary'), 'soft-capped', 'two open: the next is past the soft cap');
  counts.close('primary');
  counts.close('primary');
  assert.equal(counts.open('primary'), 'accept');
});

test('metrics give each interface its sessions, peak, caps and errors, and the node its totals', () => {
  const counts = new SessionCounts();
  counts.addInterface('a', { soft: 10, hard: 12 });
  counts.addInterface('b', { soft: 1, hard: 1 });
  counts.open('a');
  counts.open('a');
  counts.open('b');
  counts.close('a');
  counts.countError('a', 'parsing');
  counts.countError('b', 'request_payload_too_large');
  counts.countError('b', 'request_header_too_large');
  counts.countError('b', 'request_header_too_large');
  assert.deepEqual(counts.metrics(), {
    active: 2,
    peak: 3,
    interfaces: {
      a: { active: 1, peak: 2, soft_cap: 10, hard_cap: 12, errors: { parsing: 1, request_payload_too_large: 0, request_header_too_large: 0 } },
      b: { active: 1, peak: 1, soft_cap: 1, hard_cap: 1, errors: { parsing: 0, request_payload_too_large: 1, request_header_too_large: 2 } },
    },
  });
  const snapshot = counts.metrics();
  counts.countError('a', 'parsing');
  assert.equal(snapshot.interfaces.a!.errors.parsing, 1, 'a report is a copy, not live counters');
});

test('closing more sessions than were opened never counts below zero', () => {
  const counts = new SessionCounts();
  counts.addInterface('a', { soft: 1, hard: 2 });
  counts.close('a');
  assert.equal(counts.metrics().active, 0);
  assert.equal(counts.open('a'), 'accept');
});

test('bad caps and unknown interfaces are refused', () => {
  const counts = new SessionCounts();
  for (const caps of [{ soft: 0, hard: 1 }, { soft: 5, hard: 4 }, { soft: 1.5, hard: 2 }]) {
    assert.throws(() => counts.addInterface('x', caps), /1 <= soft <= hard/);
  }
  counts.addInterface('a', { soft: 1, hard: 1 });
  assert.throws(() => counts.addInterface('a', { soft: 1, hard: 1 }), /counted already/);
  assert.throws(() => counts.open('b'), /no RPC interface b/);
});
