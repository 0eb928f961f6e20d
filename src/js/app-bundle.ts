// JS app bundles as CCF defines them: `{metadata: <app.json>, modules: [{name, module}]}`, checked
// field by field (errors name the offending path), and their encoding in the governance maps that
// `set_js_app` writes: `public:ccf.gov.modules` ("/" + name -> source) and
// `public:ccf.gov.endpoints` ("VERB /path" -> EndpointInfo JSON, js_module prefixed with "/").

import { CocoError } from '../errors.js';
import { fromUtf8, isValidUtf8, utf8 } from '../crypto/bytes.js';
import type { Transaction } from '../kv/transaction.js';

export const MODULES_MAP = 'public:ccf.gov.modules';
export const ENDPOINTS_MAP = 'public:ccf.gov.endpoints';

export type EndpointMode = 'readwrite' | 'readonly' | 'historical';
export type ForwardingRequired = 'sometimes' | 'always' | 'never';
export type RedirectionStrategy = 'none' | 'to_primary' | 'to_backup';
export type AuthnPolicy = string | { all_of: string[] };

/** An endpoint's properties (app.json); unknown members are kept as they are. */
export interface EndpointInfo {
  js_module: string;
  js_function: string;
  authn_policies: AuthnPolicy[];
  mode: EndpointMode;
  forwarding_required: ForwardingRequired;
  redirection_strategy?: RedirectionStrategy;
  openapi?: Record<string, unknown>;
  openapi_hidden?: boolean;
  interpreter_reuse?: { key: string };
}

export interface AppModule {
  name: string;
  module: string;
}

export interface AppBundle {
  metadata: { endpoints: Record<string, Record<string, EndpointInfo>> };
  modules: AppModule[];
}

/** An app as the runtime uses it: absolute module names, and endpoints by "VERB /path". */
export interface AppDefinition {
  modules: Map<string, string>;
  endpoints: Map<string, EndpointInfo>;
}

export interface KvWrite {
  map: string;
  key: Uint8Array;
  value: Uint8Array;
}

const MODES: readonly EndpointMode[] = ['readwrite', 'readonly', 'historical'];
const FORWARDING: readonly ForwardingRequired[] = ['sometimes', 'always', 'never'];
const REDIRECTION: readonly RedirectionStrategy[] = ['none', 'to_primary', 'to_backup'];
/** An HTTP method token as app.json spells it ("get", "post", ...). */
const METHOD = /^[A-Za-z]+$/;

/** Checks a bundle (e.g. the `bundle` argument of a `set_js_app` proposal) and returns it typed. */
export function parseAppBundle(value: unknown): AppBundle {
  const bundle = object(value, 'bundle');
  const modules = array(bundle.modules, 'bundle.modules').map((item, i): AppModule => {
    const path = `bundle.modules[${i}]`;
    const module = object(item, path);
    const name = string(module.name, `${path}.name`);
    if (name === '' || name.startsWith('/') || name.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
      invalid(`${path}.name`, `must be a relative path like "endpoints/all.js", got ${JSON.stringify(name)}`);
    }
    return { name, module: string(module.module, `${path}.module`) };
  });
  const names = new Set<string>();
  for (const [i, { name }] of modules.entries()) {
    if (names.has(name)) invalid(`bundle.modules[${i}].name`, `repeats module name ${JSON.stringify(name)}`);
    names.add(name);
  }
  const metadata = object(bundle.metadata, 'bundle.metadata');
  const endpointsPath = 'bundle.metadata.endpoints';
  const endpoints: AppBundle['metadata']['endpoints'] = {};
  const keys = new Set<string>();
  for (const [url, methods] of Object.entries(object(metadata.endpoints, endpointsPath))) {
    const urlPath = `${endpointsPath}[${JSON.stringify(url)}]`;
    if (!url.startsWith('/')) invalid(urlPath, 'is not a path: endpoint paths start with "/"');
    endpoints[url] = {};
    for (const [method, info] of Object.entries(object(methods, urlPath))) {
      const path = `${urlPath}[${JSON.stringify(method)}]`;
      if (!METHOD.test(method)) invalid(path, 'is not an HTTP method like "get" or "post"');
      const key = endpointKey(method, url);
      if (keys.has(key)) invalid(path, `repeats endpoint ${key}`);
      keys.add(key);
      const parsed = parseEndpointInfo(info, path);
      if (!names.has(parsed.js_module)) invalid(`${path}.js_module`, `names module '${parsed.js_module}', which is not in bundle.modules`);
      endpoints[url][method] = parsed;
    }
  }
  return { metadata: { ...metadata, endpoints }, modules };
}

/** Checks an endpoint's properties; `path` names them in errors. */
export function parseEndpointInfo(value: unknown, path: string): EndpointInfo {
  const info = object(value, path);
  string(info.js_module, `${path}.js_module`);
  if (string(info.js_function, `${path}.js_function`) === '') invalid(`${path}.js_function`, 'must not be empty');
  oneOf(info.mode, MODES, `${path}.mode`);
  oneOf(info.forwarding_required, FORWARDING, `${path}.forwarding_required`);
  if (info.redirection_strategy !== undefined) oneOf(info.redirection_strategy, REDIRECTION, `${path}.redirection_strategy`);
  if (info.openapi !== undefined) object(info.openapi, `${path}.openapi`);
  if (info.openapi_hidden !== undefined && typeof info.openapi_hidden !== 'boolean') invalid(`${path}.openapi_hidden`, 'must be a boolean');
  if (info.interpreter_reuse !== undefined) string(object(info.interpreter_reuse, `${path}.interpreter_reuse`).key, `${path}.interpreter_reuse.key`);
  for (const [i, policy] of array(info.authn_policies, `${path}.authn_policies`).entries()) {
    const policyPath = `${path}.authn_policies[${i}]`;
    if (typeof policy === 'string') continue;
    const constituents = array(object(policy, policyPath).all_of, `${policyPath}.all_of`);
    for (const [j, name] of constituents.entries()) string(name, `${policyPath}.all_of[${j}]`);
  }
  return info as unknown as EndpointInfo;
}

/** The key of an endpoint in `public:ccf.gov.endpoints`: "POST /log/private". */
export function endpointKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** An endpoint key's method and path ("POST /log/private" → POST, /log/private). */
export function splitEndpointKey(key: string): { method: string; path: string } {
  const space = key.indexOf(' ');
  return space < 0 ? { method: key, path: '' } : { method: key.slice(0, space), path: key.slice(space + 1) };
}

/**
 * The writes `set_js_app` makes for `bundle` (after clearing both maps): one per module, one per
 * endpoint.
 */
export function bundleToKvWrites(bundle: AppBundle): KvWrite[] {
  const writes: KvWrite[] = bundle.modules.map(({ name, module }) => ({ map: MODULES_MAP, key: utf8(`/${name}`), value: utf8(module) }));
  for (const [url, methods] of Object.entries(bundle.metadata.endpoints)) {
    for (const [method, info] of Object.entries(methods)) {
      const stored = { ...info, js_module: `/${info.js_module}` };
      writes.push({ map: ENDPOINTS_MAP, key: utf8(endpointKey(method, url)), value: utf8(JSON.stringify(stored)) });
    }
  }
  return writes;
}

/** The installed app as `tx` sees it; CocoError 'InvalidAppBundle' if the maps hold malformed entries. */
export function readAppFromKv(tx: Transaction): AppDefinition {
  const modules = new Map<string, string>();
  tx.map(MODULES_MAP).forEach((value, key) => {
    const name = text(key, MODULES_MAP, 'key');
    if (!name.startsWith('/')) invalid(`${MODULES_MAP}[${JSON.stringify(name)}]`, 'is not a module name: names start with "/"');
    modules.set(name, text(value, MODULES_MAP, `value of ${JSON.stringify(name)}`));
  });
  const endpoints = new Map<string, EndpointInfo>();
  tx.map(ENDPOINTS_MAP).forEach((value, keyBytes) => {
    const key = text(keyBytes, ENDPOINTS_MAP, 'key');
    const path = `${ENDPOINTS_MAP}[${JSON.stringify(key)}]`;
    const space = key.indexOf(' ');
    if (space < 1 || !METHOD.test(key.slice(0, space)) || !key.slice(space + 1).startsWith('/')) {
      invalid(path, 'is not an endpoint key like "POST /log/private"');
    }
    let info: unknown;
    try {
      info = JSON.parse(text(value, ENDPOINTS_MAP, `value of ${JSON.stringify(key)}`));
    } catch (cause) {
      if (cause instanceof CocoError) throw cause;
      invalid(path, 'does not hold JSON');
    }
    endpoints.set(endpointKey(key.slice(0, space), key.slice(space + 1)), parseEndpointInfo(info, path));
  });
  return { modules, endpoints };
}

// ---------------------------------------------------------------------------------------------

function invalid(path: string, problem: string): never {
  throw new CocoError('InvalidAppBundle', `${path} ${problem}`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, `must be an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) invalid(path, `must be an array, got ${describe(value)}`);
  return value;
}

function string(value: unknown, path: string): string {
  if (typeof value !== 'string') invalid(path, `must be a string, got ${describe(value)}`);
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (!allowed.includes(value as T)) invalid(path, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(value) ?? 'undefined'}`);
  return value as T;
}

function text(bytes: Uint8Array, map: string, what: string): string {
  if (!isValidUtf8(bytes)) invalid(`${map} ${what}`, 'is not valid UTF-8');
  return fromUtf8(bytes);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value) ?? ''}`.trim();
}
