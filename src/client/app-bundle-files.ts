// Reads a CCF application bundle from disk in either form CCF users have: a built `bundle.json`
// (`{metadata, modules}`, the `set_js_app` argument), or a directory with `app.json` and the
// modules under `src/` (names relative to `src/`, as CCF's tooling builds them).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CocoError } from '../errors.js';

export interface AppBundle {
  metadata: { endpoints: Record<string, Record<string, unknown>> };
  modules: { name: string; module: string }[];
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CocoError('InvalidBundle', `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

function modulesUnder(root: string, dir = root): { name: string; module: string }[] {
  const modules: { name: string; module: string }[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) modules.push(...modulesUnder(root, path));
    else if (/\.m?js$/.test(entry)) modules.push({ name: relative(root, path).split(sep).join('/'), module: readFileSync(path, 'utf8') });
  }
  return modules;
}

export function loadAppBundle(path: string): AppBundle {
  if (!existsSync(path)) throw new CocoError('InvalidBundle', `no application bundle at ${path}`);
  const file = statSync(path).isDirectory() ? join(path, 'bundle.json') : path;
  if (existsSync(file) && !statSync(file).isDirectory()) {
    const bundle = readJson(file, 'bundle') as AppBundle;
    if (typeof bundle?.metadata?.endpoints !== 'object' || !Array.isArray(bundle.modules)) {
      throw new CocoError('InvalidBundle', `${file} is not a bundle: expected {"metadata": {"endpoints": ...}, "modules": [...]}`);
    }
    return bundle;
  }
  const appJson = join(path, 'app.json');
  const src = join(path, 'src');
  if (!existsSync(appJson) || !existsSync(src)) {
    throw new CocoError('InvalidBundle', `${path} has neither bundle.json nor app.json with a src/ directory`);
  }
  return { metadata: readJson(appJson, 'app metadata') as AppBundle['metadata'], modules: modulesUnder(src) };
}
