import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPackageSpecifier, resolveModuleName } from '../../src/js/module-names.js';

// [importer, specifier, resolved]
const CASES: [string, string, string][] = [
  ['/endpoints/all.js', './util.js', '/endpoints/util.js'],
  ['/endpoints/all.js', '../lib/math.js', '/lib/math.js'],
  ['/endpoints/all.js', '/lib/math.js', '/lib/math.js'],
  ['/endpoints/all.js', 'lib/math.js', '/lib/math.js'],
  ['/a/b/c.js', './../../d.js', '/d.js'],
  ['/a.js', '../../../x.js', '/x.js'],
  ['/a.js', './b//c/./d.js', '/b/c/d.js'],
  ['/a.js', '@microsoft/ccf-app', '/@microsoft/ccf-app'],
];

for (const [importer, specifier, resolved] of CASES) {
  test(`"${specifier}" imported by ${importer} is ${resolved}`, () => {
    assert.equal(resolveModuleName(importer, specifier), resolved);
  });
}

test('package specifiers are those that start with neither "/" nor "."', () => {
  assert.deepEqual(['@microsoft/ccf-app', 'node:fs', 'lib/x.js', './x.js', '../x.js', '/x.js'].map(isPackageSpecifier), [true, true, true, false, false, false]);
});
