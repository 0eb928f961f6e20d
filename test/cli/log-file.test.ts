// A node's log file that cannot be written (a full disk: /dev/full answers ENOSPC) is said once and
// dropped; the process writing it goes on.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { join } from 'node:path';
import { repoRoot } from '../support/paths.js';

test('a log file on a full disk is reported once and dropped, and the writer goes on', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  const module = join(repoRoot, 'dist', 'src', 'cli', 'log-file.js');
  const script = `
    const { logFile } = await import(${JSON.stringify(module)});
    const log = logFile('/dev/full');
    for (let i = 0; i < 3; i++) log.write('a line\\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let i = 0; i < 3; i++) log.write('another line\\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    console.log('still running');
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'still running\n');
  const reports = run.stderr.split('\n').filter((line) => line.startsWith('coco sandbox: cannot write /dev/full'));
  assert.equal(reports.length, 1, run.stderr);
  assert.match(reports[0]!, /ENOSPC/);
});
