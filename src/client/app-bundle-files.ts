// Reads a CCF application bundle from disk in either form CCF users have: a built `bundle.json`
// (`{metadata, modules}`, the `set_js_app` argument), or a directory with `app.json` and the
// built JavaScript modules under `src/` (names relative to `src/`, as CCF's tooling builds them);
// a directory holding both forms, as CCF's build writes them, is read when they agree and refused
// when they differ, as either could be the one meant.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CocoError } from '../errors.js';
import { parseJsonText } from '../json-text.js';

export interface AppBundle {
  metadata: { endpoints: Record<string, Record<string, unknown>> };
  modules: { name: string; module: string }[];
}

function readJson(path: string, what: string): unknown {
  try {
    return parseJsonText(readFileSync(path, 'utf8'));
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

/**
 * Reads the bundle at `path` and checks that every endpoint's `js_module` is one of its modules,
 * so that an app not built yet (TypeScript under src/) fails here rather than in a proposal.
 */
export function loadAppBundle(path: string): AppBundle {
  const bundle = readAppBundle(path);
  const names = new Set(bundle.modules.map((module) => module?.name));
  const missing = new Set<string>();
  for (const methods of Object.values(bundle.metadata.endpoints)) {
    for (const info of Object.values(methods ?? {})) {
      const module = (info as { js_module?: unknown } | null)?.js_module;
      if (typeof module === 'string' && !names.has(module)) missing.add(module);
    }
  }
  if (missing.size === 0) return bundle;
  if (names.size === 0) {
    throw new CocoError(
      'InvalidBundle',
      `${path}: the endpoints run ${[...missing].join(', ')}, but the bundle has no JavaScript module; build the app first and deploy the built bundle.json (e.g. samples/logging/dist/bundle.json, which node samples/logging/build.mjs writes) or a directory whose src/ holds the built .js modules`,
    );
  }
  // A bundler that kept a path prefix (src/endpoints/a.js for endpoints/a.js) is the usual cause.
  const prefixed = [...missing].flatMap((name) => [...names].filter((has) => has.endsWith(`/${name}`)).map((has) => `${has} for ${name}`));
  const hint = prefixed.length > 0
    ? `its modules carry a path prefix that app.json's names lack (${listed(prefixed)}): name them as app.json does (with rollup, output.preserveModulesRoot)`
    : `it has ${listed([...names])}`;
  throw new CocoError('InvalidBundle', `${path}: the endpoints run ${listed([...missing])}, which the bundle lacks; ${hint}`);
}

/** At most a few names: a bundle can hold hundreds of modules (its dependencies). */
function listed(names: string[]): string {
  const shown = 8;
  return names.length <= shown ? names.join(', ') : `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`;
}

function isFile(path: string): boolean {
  return existsSync(path) && !statSync(path).isDirectory();
}

function readAppBundle(path: string): AppBundle {
  if (!existsSync(path)) throw new CocoError('InvalidBundle', `no application bundle at ${path}`);
  const isDirectory = statSync(path).isDirectory();
  const file = isDirectory ? join(path, 'bundle.json') : path;
  const appJson = join(path, 'app.json');
  const src = join(path, 'src');
  const hasSources = isDirectory && isFile(appJson) && existsSync(src);
  if (isFile(file)) {
    const bundle = readBundleJson(file);
    // CCF's build writes both forms side by side; when they say the same, either is the app. A
    // bundle.json built before the sources last changed would deploy old code without a word, so
    // then the caller says which.
    const difference = hasSources ? bundleDifference(bundle, readSources(appJson, src)) : undefined;
    if (difference !== undefined) {
      throw new CocoError(
        'InvalidBundle',
        `${path} holds both bundle.json and app.json with src/, and they differ (${difference}): to deploy app.json and src/, remove ${file} (or rebuild it from them); to deploy the built bundle, pass ${file} itself`,
      );
    }
    return bundle;
  }
  if (!hasSources) throw new CocoError('InvalidBundle', `${path} has neither bundle.json nor app.json with a src/ directory`);
  return readSources(appJson, src);
}

function readBundleJson(file: string): AppBundle {
  const bundle = readJson(file, 'bundle') as AppBundle;
  if (typeof bundle?.metadata?.endpoints !== 'object' || bundle.metadata.endpoints === null || !Array.isArray(bundle.modules)) {
    throw new CocoError('InvalidBundle', `${file} is not a bundle: expected {"metadata": {"endpoints": ...}, "modules": [...]}`);
  }
  return bundle;
}

function readSources(appJson: string, src: string): AppBundle {
  const metadata = readJson(appJson, 'app metadata') as AppBundle['metadata'];
  if (typeof metadata?.endpoints !== 'object' || metadata.endpoints === null) {
    throw new CocoError('InvalidBundle', `${appJson} is not app metadata: expected {"endpoints": ...}`);
  }
  return { metadata, modules: modulesUnder(src) };
}

/** What differs between the built bundle and the sources, first found; undefined when they agree (modules in any order). */
function bundleDifference(built: AppBundle, sources: AppBundle): string | undefined {
  if (!isDeepStrictEqual(built.metadata, sources.metadata)) return "bundle.json's metadata is not app.json";
  const builtModules = new Map(built.modules.map((m) => [m.name, m.module]));
  const sourceModules = new Map(sources.modules.map((m) => [m.name, m.module]));
  for (const [name, module] of sourceModules) {
    if (!builtModules.has(name)) return `src/${name} is not in bundle.json`;
    if (builtModules.get(name) !== module) return `module ${name} differs`;
  }
  const extra = [...builtModules.keys()].find((name) => !sourceModules.has(name));
  return extra === undefined ? undefined : `bundle.json's module ${extra} is not under src/`;
}
