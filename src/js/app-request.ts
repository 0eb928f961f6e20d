// A request to an app endpoint as the rpc layer hands it over, and the JS Request object CCF
// builds from it (ccf-compat.md §9.2): lower-cased headers, path params, decoded query, path, method,
// url, route, hostname and caller; `body` (text/json/arrayBuffer) is added inside the sandbox.
// Header values reach the app as CCF gives them, UTF-8 decoded (header-values.ts).

import { decodedQuery } from './request-query.js';
import { headerValueFromWire } from './header-values.js';
import type { JsValue } from './js-value.js';
import type { EndpointMatch } from './endpoint-table.js';

/** Paths of app endpoints start with this; keys in app.json leave it out. */
export const APP_PATH_PREFIX = '/app';

export interface AppRequest {
  /** HTTP method as received, e.g. "POST". */
  method: string;
  /** Full request path as received (percent-encoded, no query): "/app/log/private", or "/log/private" for the same endpoint. */
  path: string;
  /** Raw query string without "?", "" when none. */
  query: string;
  /**
   * One value per name, as CCF keeps them (the rpc layer keeps the first of a repeated header);
   * each byte of a value one Latin-1 character, as Node's HTTP parser gives it.
   */
  headers: Record<string, string>;
  body: Uint8Array;
  /** The Host header (read as the other headers), or null. */
  hostname: string | null;
  /** The caller identity of the endpoint's authentication policy (§9.2), or null for none. */
  caller: JsValue | null;
}

/**
 * The request's path without the "/app" prefix, which CCF (since 3.0) lets callers leave out;
 * undefined if it is no absolute path.
 */
export function endpointPath(request: AppRequest): string | undefined {
  if (request.path === APP_PATH_PREFIX) return '/';
  if (request.path.startsWith(`${APP_PATH_PREFIX}/`)) return request.path.slice(APP_PATH_PREFIX.length);
  return request.path.startsWith('/') ? request.path : undefined;
}

/** The JS Request object's members but `body`, which the sandbox adds. */
export interface EndpointRequest {
  headers: Record<string, string>;
  query: string;
  path: string;
  method: string;
  hostname: string | null;
  route: string;
  url: string;
  params: Record<string, string>;
  caller: JsValue | null;
}

/** The JS Request object's members (CCF's order is the sandbox's: see the prelude's dispatch). */
export function jsRequestObject(request: AppRequest, match: EndpointMatch): EndpointRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = headerValueFromWire(value);
  const query = decodedQuery(request.query);
  return {
    headers,
    query,
    path: request.path,
    method: request.method,
    hostname: request.hostname === null ? null : headerValueFromWire(request.hostname),
    route: `${APP_PATH_PREFIX}${match.route}`,
    url: query === '' ? request.path : `${request.path}?${query}`,
    params: match.params,
    caller: request.caller,
  };
}
