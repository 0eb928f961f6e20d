import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { makeDirectory } from '../../src/node/make-directory.js';

test('makeDirectory creates missing parents, accepts an existing directory, and throws what the system says otherwise', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'coco-mkdir-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const deep = join(root, 'a', 'b', 'c');
  makeDirectory(deep);
  assert.ok(statSync(deep).isDirectory());
  makeDirectory(deep); // again: nothing to do
  makeDirectory(join(root, 'a', '..', 'a', 'b', 'd'));
  assert.ok(statSync(join(root, 'a', 'b', 'd')).isDirectory(), 'a path with .. in it');
  const file = join(root, 'file');
  writeFileSync(file, '');
  assert.throws(() => makeDirectory(file), { code: 'EEXIST' });
  assert.throws(() => makeDirectory(join(file, 'under')), { code: 'ENOTDIR' });
});
