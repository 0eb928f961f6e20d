import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CocoError } from '../../src/errors.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';

const key = (fill: number) => new Uint8Array(32).fill(fill);

test("a recovered service's secrets take the previous service's, restored, before its own", () => {
  const secrets = new LedgerSecrets([{ fromSeqno: 23, key: key(3) }]);
  secrets.restoreEarlier([{ fromSeqno: 1, key: key(1) }, { fromSeqno: 10, key: key(2) }]);
  assert.deepEqual(secrets.all().map((s) => s.fromSeqno), [1, 10, 23]);
  assert.deepEqual([secrets.keyFor(5), secrets.keyFor(10), secrets.keyFor(22), secrets.keyFor(23)].map((k) => k[0]), [1, 2, 2, 3]);
  assert.equal(secrets.latestFromSeqno, 23);
});

test('restored secrets must apply before the first held one, in order', () => {
  const at = (first: number) => new LedgerSecrets([{ fromSeqno: first, key: key(9) }]);
  assert.throws(() => at(10).restoreEarlier([{ fromSeqno: 1, key: key(1) }, { fromSeqno: 10, key: key(2) }]), (e: unknown) => e instanceof CocoError && /applies from seqno 10, not before the first held one \(10\)/.test(e.message));
  assert.throws(() => at(10).restoreEarlier([{ fromSeqno: 5, key: key(1) }, { fromSeqno: 2, key: key(2) }]), (e: unknown) => e instanceof CocoError && /seqno order/.test(e.message));
  const untouched = at(10);
  assert.throws(() => untouched.restoreEarlier([{ fromSeqno: 1, key: new Uint8Array(16) }]));
  assert.deepEqual(untouched.all().map((s) => s.fromSeqno), [10], 'a refused restore changes nothing');
});
