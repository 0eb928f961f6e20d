// Chunks copied into a node's directories after it started (an archive restored into a read-only
// directory) are found without a restart; a seqno truly absent does not list the directories on
// every request.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChunkName } from '../../src/ledger/chunk-file.js';
import { ChunksBeforeStart, CHUNKS_RELIST_INTERVAL_MS } from '../../src/node/chunks-before-start.js';

test('a chunk that appears in the directories is held once a second has passed; until then the last listing answers', () => {
  let nowMs = 10_000;
  let listings = 0;
  const onDisk: ChunkName[] = [{ first: 1, last: 10 } as ChunkName];
  const chunks = new ChunksBeforeStart(() => {
    listings++;
    return [...onDisk];
  }, () => nowMs);
  assert.equal(listings, 1);
  assert.equal(chunks.holds(5), true);
  assert.equal(chunks.holds(15), false, 'not on disk');
  onDisk.push({ first: 11, last: 20 } as ChunkName);
  nowMs += CHUNKS_RELIST_INTERVAL_MS - 1;
  assert.equal(chunks.holds(15), false, 'within a second of the last listing');
  assert.equal(listings, 1);
  nowMs += 1;
  assert.equal(chunks.holds(15), true, 'listed again');
  assert.equal(listings, 2);
  for (let i = 0; i < 100; i++) assert.equal(chunks.holds(25), false);
  assert.equal(listings, 2, 'absent seqnos asked for again and again cost no listing within the second');
  assert.equal(chunks.holds(5), true, 'a held seqno needs no listing');
});
