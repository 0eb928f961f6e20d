// loadAppBundle reads both forms of a bundle, and refuses one whose endpoints run a module it does
// not have (an app not built yet) before anything is proposed.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after } from 'node:test';
import { loadAppBundle } from '../../src/client/app-bundle-files.js';
import { CocoError } from '../../src/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'coco-app-bundle-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const endpoint = (module: string) => ({ js_module: module, js_function: 'handle', forwarding_required: 'sometimes', authn_policies: [], mode: 'readonly' });
const metadata = { endpoints: { '/a': { get: endpoint('app/a.js') }, '/b': { get: endpoint('b.js'), post: endpoint('b.js') } } };

function appDirectory(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries({ 'app.json': JSON.stringify(metadata), ...files })) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

function refusal(path: string): CocoError {
  try {
    loadAppBundle(path);
  } catch (error) {
    assert.ok(error instanceof CocoError);
    return error;
  }
  assert.fail(`${path} loaded`);
}

test('a directory with app.json and built modules under src/ loads with module names relative to src/', () => {
  const bundle = loadAppBundle(appDirectory('built', { 'src/app/a.js': 'export function handle() {}', 'src/b.js': 'export function handle() {}' }));
  assert.deepEqual(bundle.modules.map((module) => module.name), ['app/a.js', 'b.js']);
  assert.deepEqual(bundle.metadata, metadata);
});

test('a directory whose src/ holds TypeScript not built yet is refused, naming the missing modules', () => {
  const error = refusal(appDirectory('unbuilt', { 'src/app/a.ts': 'export function handle() {}', 'src/b.ts': 'export function handle() {}' }));
  assert.equal(error.code, 'InvalidBundle');
  assert.match(error.message, /the endpoints run app\/a\.js, b\.js, but the bundle has no JavaScript module; build the app first/);
});

test('a bundle.json whose endpoint runs a module it lacks is refused, naming the modules it has', () => {
  const file = join(scratch, 'bundle.json');
  writeFileSync(file, JSON.stringify({ metadata, modules: [{ name: 'b.js', module: 'export function handle() {}' }] }));
  const error = refusal(file);
  assert.equal(error.code, 'InvalidBundle');
  assert.match(error.message, /the endpoints run app\/a\.js, which the bundle lacks; it has b\.js$/);
});

test('a bundle whose module names carry a path prefix says so, and lists a bundle of many modules only in part', () => {
  const file = join(scratch, 'prefixed.json');
  const dependencies = Array.from({ length: 40 }, (_, i) => ({ name: `node_modules/lib/m${i}.js`, module: '' }));
  const b = { name: 'b.js', module: 'export function handle() {}' };
  writeFileSync(file, JSON.stringify({ metadata, modules: [{ name: 'src/app/a.js', module: 'export function handle() {}' }, b, ...dependencies] }));
  const error = refusal(file);
  assert.equal(error.code, 'InvalidBundle');
  assert.match(error.message, /the endpoints run app\/a\.js, which the bundle lacks; its modules carry a path prefix that app\.json's names lack \(src\/app\/a\.js for app\/a\.js\)/);
  writeFileSync(file, JSON.stringify({ metadata, modules: [b, ...dependencies] }));
  assert.match(refusal(file).message, /it has b\.js, node_modules\/lib\/m0\.js, .*m6\.js and 33 more$/);
});

test('a directory holding both bundle.json and app.json with src/ that differ is refused, saying which to remove; the bundle.json path itself loads; when they agree, as CCF\'s build writes them, the directory loads', () => {
  const stale = { metadata, modules: [{ name: 'app/a.js', module: 'export function handle() { return { body: "old" }; }' }, { name: 'b.js', module: 'export function handle() {}' }] };
  const dir = appDirectory('both', { 'bundle.json': JSON.stringify(stale), 'src/app/a.js': 'export function handle() { return { body: "new" }; }', 'src/b.js': 'export function handle() {}' });
  const error = refusal(dir);
  assert.equal(error.code, 'InvalidBundle');
  assert.equal(error.message, `${dir} holds both bundle.json and app.json with src/, and they differ (module app/a.js differs): to deploy app.json and src/, remove ${join(dir, 'bundle.json')} (or rebuild it from them); to deploy the built bundle, pass ${join(dir, 'bundle.json')} itself`);
  assert.deepEqual(loadAppBundle(join(dir, 'bundle.json')), stale);

  // Rebuilt from the sources (modules in another order than the directory's): the same app.
  const built = { metadata, modules: [{ name: 'b.js', module: 'export function handle() {}' }, { name: 'app/a.js', module: 'export function handle() { return { body: "new" }; }' }] };
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify(built));
  assert.deepEqual(loadAppBundle(dir), built);
  // Metadata that differs is a difference too.
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ ...built, metadata: { endpoints: {} } }));
  assert.match(refusal(dir).message, /and they differ \(bundle\.json's metadata is not app\.json\)/);
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ ...built, modules: built.modules.slice(1) }));
  assert.match(refusal(dir).message, /and they differ \(src\/b\.js is not in bundle\.json\)/);
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify({ ...built, modules: [...built.modules, { name: 'c.js', module: '' }] }));
  assert.match(refusal(dir).message, /and they differ \(bundle\.json's module c\.js is not under src\/\)/);
});
