// The commit marker a restarted node reads back: used only when the ledger holds the entry it
// names, so that a stale, torn or foreign marker can never mark as committed what was not.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CommitMarker, commitMarkerPath, readCommitMarker, restartCommitSeqno } from '../../src/node/commit-marker-file.js';

test('the marker is written in place and read back; a missing, torn or malformed one reads as none', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-commit-marker-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = commitMarkerPath(join(dir, 'consensus_state.json'));
  assert.equal(path, join(dir, 'consensus_state.commit.json'));
  assert.equal(readCommitMarker(path), undefined);
  const marker = new CommitMarker(path);
  marker.write({ view: 12, seqno: 123_456 });
  marker.write({ view: 13, seqno: 7 });
  marker.close();
  assert.deepEqual(readCommitMarker(path), { view: 13, seqno: 7 }, 'a shorter record leaves nothing of the longer one');
  for (const text of ['{"view":13,"seq', '', 'null', '{"view":"13","seqno":7}', '{"view":1,"seqno":0}']) {
    writeFileSync(path, text);
    assert.equal(readCommitMarker(path), undefined, text);
  }
});

test("a restart takes the marker's commit only when the ledger holds that very entry past the chunks' commit", () => {
  const entries = [10, 11, 12, 13, 14].map((seqno) => ({ seqno, view: seqno < 13 ? 2 : 3 }));
  assert.equal(restartCommitSeqno(9, { view: 3, seqno: 13 }, entries), 13);
  assert.equal(restartCommitSeqno(9, { view: 2, seqno: 13 }, entries), 9, 'another view at that seqno: a different entry');
  assert.equal(restartCommitSeqno(9, { view: 3, seqno: 20 }, entries), 9, 'past the ledger (its end was cut)');
  assert.equal(restartCommitSeqno(12, { view: 2, seqno: 11 }, entries), 12, 'behind what the chunks show');
  assert.equal(restartCommitSeqno(9, undefined, entries), 9);
  assert.equal(restartCommitSeqno(9, { view: 3, seqno: 13 }, []), 9);
});
