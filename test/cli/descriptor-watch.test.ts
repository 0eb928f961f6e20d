// The warning a node logs when its open descriptors near its limit (libuv then drops new
// connections without a word to the node).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { descriptorsWarning } from '../../src/cli/descriptor-watch.js';

test('no warning while descriptors are to spare; near the limit, one that says what to raise', () => {
  assert.equal(descriptorsWarning(31, 1024), undefined);
  assert.equal(descriptorsWarning(971, 1024), undefined, '53 left: more than 5 %');
  assert.match(descriptorsWarning(972, 1024)!, /^this process has 972 of its 1024 file descriptors open: new client connections are dropped .* raise the node's descriptor limit \(ulimit -n, systemd's LimitNOFILE=\) or lower max_open_sessions_hard$/);
  // A small limit keeps at least 8 to spare.
  assert.equal(descriptorsWarning(51, 60), undefined);
  assert.ok(descriptorsWarning(52, 60));
  assert.ok(descriptorsWarning(60, 60), 'none left');
});
