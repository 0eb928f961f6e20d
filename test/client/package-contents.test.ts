// What `npm pack` ships: the built library with its types, the CLI and everything the CLI reads at
// run time (constitution, the logging sample's built bundle), the logging sample as a project its
// README says to copy, the docs; not tests, benchmarks or Coco's own build configuration. And the
// package's exports resolve the client SDK for import and require.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('the npm package', () => {
  it('ships the library, its types, the CLI and what the CLI reads, and nothing for development', () => {
    // --ignore-scripts: prepare would rebuild dist/ under the running tests.
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const packed = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' })) as [{ files: { path: string }[] }];
    const files = new Set(packed[0].files.map((file) => file.path));
    for (const needed of [
      'package.json',
      'README.md',
      'bin/coco.js',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
      'dist/src/cli/main.js',
      'dist/src/node/ecdsa-nonce-worker.js',
      'constitution/default/actions.js',
      'samples/logging/dist/bundle.json',
      'samples/logging/app.json',
      // What its README tells a copy to run: npm install, then build.mjs (npm run build) and tsc -p .
      'samples/logging/package.json',
      'samples/logging/build.mjs',
      'samples/logging/tsconfig.json',
      'samples/erc20/dist/Token.json',
      'docs/client.md',
    ]) {
      assert.ok(files.has(needed), `the package lacks ${needed}`);
    }
    const development = [...files].filter((path) => /^(dist\/(test|bench)|test|bench|\.ci|src)\/|\.map$|^tsconfig|^eslint/.test(path));
    assert.deepEqual(development, []);
  });

  it("ships a logging sample that builds as a copy: its package.json names each package its build and sources import, as this package pins them", () => {
    const sample = join(repoRoot, 'samples', 'logging');
    const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; scripts: Record<string, string> };
    const own = manifest(sample);
    const sources = [join(sample, 'build.mjs'), ...readdirSync(join(sample, 'src')).map((name) => join(sample, 'src', name))];
    const imported = new Set(sources.flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*['"]((?:@[^/'"]+\/)?[^./'"][^/'"]*)/g)].map((match) => match[1]!)));
    const packages = [...imported].filter((name) => !name.startsWith('node:')).sort();
    assert.deepEqual(packages, ['@microsoft/ccf-app', 'esbuild']);
    const root = manifest(repoRoot);
    for (const name of [...packages, 'typescript']) assert.equal(own.devDependencies[name], root.devDependencies[name], name);
    assert.deepEqual(own.scripts, { build: 'node build.mjs', typecheck: 'tsc -p .' });
  });

  it('resolves coco to the client SDK for import and for require, and exposes its package.json', () => {
    const sdk = fileURLToPath(import.meta.resolve('coco'));
    assert.equal(sdk, `${repoRoot}dist/src/client/index.js`);
    const require = createRequire(import.meta.url);
    assert.equal(require.resolve('coco'), sdk);
    assert.equal((require('coco/package.json') as { name: string }).name, 'coco');
    assert.equal(fileURLToPath(import.meta.resolve('coco/ethereum')), `${repoRoot}dist/src/client/ethereum.js`);
  });

  it('loads no Ethereum library with the entry point: those are in coco/ethereum, which has them', () => {
    const loaded = (entry: string) => {
      // A module hook in the child reports every file module it loads, one URL per line on stderr.
      const hook = `export async function load(url, context, next) { if (url.startsWith('file:')) process.stderr.write(url + '\\n'); return next(url, context); }`;
      const registration = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
      const run = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(registration)}`, '--input-type=module', '-e', `await import(${JSON.stringify(entry)});`], { cwd: repoRoot, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      return run.stderr.split('\n').filter((line) => line.startsWith('file:'));
    };
    const ethereum = (urls: string[]) => urls.filter((url) => /\/(@ethereumjs|hash-wasm)\/|\/dist\/src\/ethereum\//.test(url));
    const sdk = loaded('coco');
    assert.ok(sdk.some((url) => url.endsWith('/dist/src/client/index.js')), 'the hook saw the entry point load');
    assert.deepEqual(ethereum(sdk), []);
    assert.ok(ethereum(loaded('coco/ethereum')).length > 0, 'coco/ethereum loads the Ethereum receipt encoding');
  });
});
