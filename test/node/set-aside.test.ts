import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { freeSetAsideName, setAsideFile } from '../../src/node/set-aside.js';

test('a file set aside again takes the next free name: every earlier one is kept as it was', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-set-aside-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(freeSetAsideName(dir, 'ledger_7'), 'ledger_7.ignored');
  for (const attempt of ['first', 'second', 'third']) {
    writeFileSync(join(dir, 'ledger_7'), attempt);
    setAsideFile(dir, 'ledger_7');
  }
  assert.deepEqual(readdirSync(dir).sort(), ['ledger_7.1.ignored', 'ledger_7.2.ignored', 'ledger_7.ignored']);
  assert.deepEqual(['ledger_7.ignored', 'ledger_7.1.ignored', 'ledger_7.2.ignored'].map((name) => readFileSync(join(dir, name), 'utf8')), ['first', 'second', 'third']);
  // The first free name is taken, a gap left by one removed by hand included.
  rmSync(join(dir, 'ledger_7.1.ignored'));
  assert.equal(freeSetAsideName(dir, 'ledger_7'), 'ledger_7.1.ignored');
  assert.throws(() => setAsideFile(dir, 'ledger_9'), { code: 'ENOENT' });
});
