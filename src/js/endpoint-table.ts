// Routing of app requests: the endpoint keys of an app ("VERB /path", paths possibly holding
// `{param}` templates) matched against a request's method and path. A literal path matches first;
// among templates, at the first segment where they differ, a literal segment beats one mixing text
// and templates ("{name}.json"), which beats a bare template; two templates of the same shape
// matching one path are an error. No match for the method but one for
// another method is a 405 (allowed methods listed), no match at all a 404.

import { CocoError } from '../errors.js';
import type { EndpointInfo } from './app-bundle.js';

export interface EndpointMatch {
  /** The endpoint's key, e.g. "GET /log/{kind}". */
  key: string;
  info: EndpointInfo;
  /** The endpoint's path as written in app.json, e.g. "/log/{kind}". */
  route: string;
  /** Template values by name, percent-decoded. */
  params: Record<string, string>;
}

export interface MethodNotAllowed {
  allowedMethods: string[];
}

interface Template {
  key: string;
  method: string;
  route: string;
  info: EndpointInfo;
  /** Per path segment: a literal to compare, or a pattern with the template names it captures. */
  segments: ({ literal: string } | { pattern: RegExp; names: string[]; mixed: boolean })[];
}

/** `{name}` in a path: the name may hold anything but braces and slashes. */
const TEMPLATE_PARAM = /\{([^{}/]+)\}/g;

export function isEndpointMatch(result: EndpointMatch | MethodNotAllowed | undefined): result is EndpointMatch {
  return result !== undefined && 'info' in result;
}

export class EndpointTable {
  /** Literal endpoints by path, then by method. */
  readonly #literal = new Map<string, Map<string, { key: string; info: EndpointInfo }>>();
  /** Template endpoints by number of path segments. */
  readonly #templates = new Map<number, Template[]>();

  /** `endpoints` by key "VERB /path" (VERB upper case), as readAppFromKv returns them. */
  constructor(endpoints: ReadonlyMap<string, EndpointInfo>) {
    for (const [key, info] of endpoints) {
      const space = key.indexOf(' ');
      const method = key.slice(0, space).toUpperCase();
      const route = key.slice(space + 1);
      if (space < 1 || !route.startsWith('/')) throw new CocoError('InvalidAppBundle', `"${key}" is not an endpoint key like "POST /log/private"`);
      const parts = route.split('/');
      const segments = parts.map(compileSegment);
      if (segments.every((segment) => 'literal' in segment)) {
        let methods = this.#literal.get(route);
        if (methods === undefined) this.#literal.set(route, (methods = new Map()));
        methods.set(method, { key, info });
        continue;
      }
      let group = this.#templates.get(parts.length);
      if (group === undefined) this.#templates.set(parts.length, (group = []));
      group.push({ key, method, route, info, segments });
    }
  }

  /** The endpoint for `method` and `path` (without the "/app" prefix, without the query). */
  match(method: string, path: string): EndpointMatch | MethodNotAllowed | undefined {
    const verb = method.toUpperCase();
    const literal = this.#literal.get(path);
    const exact = literal?.get(verb);
    if (exact !== undefined) return { key: exact.key, info: exact.info, route: path, params: {} };
    const allowed = new Set(literal?.keys());
    const parts = path.split('/');
    let best: { template: Template; params: Record<string, string> } | undefined;
    let tie: Template | undefined;
    for (const template of this.#templates.get(parts.length) ?? []) {
      const params = matchSegments(template, parts);
      if (params === undefined) continue;
      allowed.add(template.method);
      if (template.method !== verb) continue;
      const order = best === undefined ? 1 : compareSpecificity(template, best.template);
      if (order > 0) {
        best = { template, params };
        tie = undefined;
      } else if (order === 0) {
        tie = template;
      }
    }
    if (best !== undefined) {
      if (tie !== undefined) {
        throw new CocoError('AmbiguousEndpoint', `${verb} ${path} matches both "${best.template.key}" and "${tie.key}": make one of them more specific`);
      }
      return { key: best.template.key, info: best.template.info, route: best.template.route, params: best.params };
    }
    return allowed.size > 0 ? { allowedMethods: [...allowed].sort() } : undefined;
  }
}

function compileSegment(part: string): Template['segments'][number] {
  const names: string[] = [];
  let source = '';
  let last = 0;
  for (const found of part.matchAll(TEMPLATE_PARAM)) {
    source += escapeRegExp(part.slice(last, found.index)) + '([^/]+)';
    names.push(found[1] ?? '');
    last = found.index + found[0].length;
  }
  if (names.length === 0) return { literal: part };
  const mixed = part.replace(TEMPLATE_PARAM, '') !== '';
  return { pattern: new RegExp(`^${source}${escapeRegExp(part.slice(last))}$`), names, mixed };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);
}

function matchSegments(template: Template, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [i, segment] of template.segments.entries()) {
    const part = parts[i] ?? '';
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
      continue;
    }
    const found = segment.pattern.exec(part);
    if (found === null) return undefined;
    // As CCF's request.params: the text of the path, still percent-encoded (apps decode what they expect encoded).
    segment.names.forEach((name, j) => (params[name] = found[j + 1] ?? ''));
  }
  return params;
}

/** > 0 if `a` is more specific than `b` at the first segment where they differ in kind. */
function compareSpecificity(a: Template, b: Template): number {
  for (const [i, segment] of a.segments.entries()) {
    const difference = specificity(segment) - specificity(b.segments[i] ?? segment);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** 2 for a literal segment, 1 for text mixed with templates, 0 for a bare template. */
function specificity(segment: Template['segments'][number]): number {
  if ('literal' in segment) return 2;
  return segment.mixed ? 1 : 0;
}
