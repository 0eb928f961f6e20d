// Builds the logging sample into a CCF app bundle: each module app.json names (src/<name>.ts) is
// bundled by esbuild as an ES module for ES2020 with @microsoft/ccf-app inlined and no Node
// built-ins, and written with app.json as <outDir>/bundle.json in the form a set_js_app proposal
// takes: {metadata, modules: [{name, module}]}.
// Usage: node samples/logging/build.mjs [outDir]      (outDir defaults to samples/logging/dist)

import { build } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const sampleDir = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(sampleDir, 'dist'));

const metadata = JSON.parse(await readFile(join(sampleDir, 'app.json'), 'utf8'));
const moduleNames = [...new Set(Object.values(metadata.endpoints).flatMap((methods) => Object.values(methods).map((info) => info.js_module)))];

const result = await build({
  entryPoints: moduleNames.map((name) => join(sampleDir, 'src', name.replace(/\.js$/, '.ts'))),
  outdir: join(sampleDir, 'out'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  platform: 'neutral',
  mainFields: ['module', 'main'],
  write: false,
  logLevel: 'warning',
});

const modules = result.outputFiles
  .map((file) => ({ name: relative(join(sampleDir, 'out'), file.path).split('\\').join('/'), module: file.text }))
  .sort((a, b) => a.name.localeCompare(b.name));
const missing = moduleNames.filter((name) => !modules.some((module) => module.name === name));
if (missing.length > 0) throw new Error(`esbuild produced no module for ${missing.join(', ')}`);

await mkdir(outDir, { recursive: true });
const bundlePath = join(outDir, 'bundle.json');
await writeFile(bundlePath, JSON.stringify({ metadata, modules }, null, 2) + '\n');
process.stdout.write(`wrote ${bundlePath} (${modules.map((module) => module.name).join(', ')})\n`);
