// What a failed ledger change tells the operator to do depends on why it failed: a process out of
// descriptors (EMFILE) needs a higher limit or lower session caps, not a disk repair.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

const OPEN_FILES_LIMIT = 64;

/** In a process under `ulimit -n`: every descriptor taken, then a new ledger's first chunk is created. */
const CREATE_WITHOUT_DESCRIPTORS = `
  import { openSync } from 'node:fs';
  const { LedgerFiles } = await import(${JSON.stringify(join(repoRoot, 'dist/src/node/ledger-files.js'))});
  const { genesisWriteSet, makeWriter } = await import(${JSON.stringify(join(repoRoot, 'dist/test/ledger/writer-fixture.js'))});
  const writer = makeWriter();
  const first = writer.appendTransaction(genesisWriteSet());
  const files = new LedgerFiles(process.argv[1]);
  try {
    for (;;) openSync('/dev/null', 'r');
  } catch (error) {
    if (error.code !== 'EMFILE') throw error;
  }
  try {
    files.append(first);
    console.log('appended');
  } catch (error) {
    console.log(JSON.stringify({ code: error.code, errno: error.errno, message: error.message }));
  }
`;

test('a chunk that cannot be created for want of descriptors says to raise the descriptor limit or lower the session caps, not to fix the disk', (t) => {
  const directory = mkdtempSync(join(tmpdir(), 'coco-ledger-emfile-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const run = spawnSync('bash', ['-c', `ulimit -n ${OPEN_FILES_LIMIT}; exec "$0" "$@"`, process.execPath, '--input-type=module', '-e', CREATE_WITHOUT_DESCRIPTORS, directory], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const failure = JSON.parse(run.stdout) as { code: string; errno: string; message: string };
  assert.equal(failure.code, 'LedgerWriteFailed');
  assert.equal(failure.errno, 'EMFILE');
  assert.equal(
    failure.message,
    `create of ${join(directory, 'ledger_1')} failed: EMFILE (too many open files); raise the node's descriptor limit (ulimit -n) or lower max_open_sessions_hard ` +
      'and restart the node: it resumes from its ledger, committed transactions are kept',
  );
});
