// One endpoint call: the matched endpoint's function runs in an interpreter on the JS Request, in
// the KV context of its mode, and what it returns becomes an AppResponse by CCF's rules: status 200
// unless given; a string body is text/plain, bytes application/octet-stream, anything else JSON;
// headers the function sets win over that default, their values sent as UTF-8 as CCF sends them;
// writes apply on 2xx unless ccf.rpc says otherwise.

import { CocoError } from '../errors.js';
import type { Transaction } from '../kv/transaction.js';
import { APP_PATH_PREFIX, jsRequestObject, type AppRequest } from './app-request.js';
import type { EndpointCallState } from './call-env.js';
import type { EndpointMatch } from './endpoint-table.js';
import { headerValueToWire } from './header-values.js';
import type { JsInterpreter } from './interpreter.js';
import type { HistoricalStateInput, JsHost } from './js-host.js';

export interface AppResponse {
  statusCode: number;
  /** Lower-case names; values as Node writes them, one Latin-1 character per byte (header-values.ts). */
  headers: Record<string, string>;
  /** Absent when the function returned no body: then, as in CCF, no content type either. */
  body: Uint8Array | undefined;
  /** Whether the transaction's writes should be committed. */
  applyWrites: boolean;
  /** Set by ccf.rpc.setClaimsDigest: bound into the transaction's receipt. */
  claimsDigest?: Uint8Array;
}

export const CONTENT_TYPE_TEXT = 'text/plain';
export const CONTENT_TYPE_OCTET_STREAM = 'application/octet-stream';
export const CONTENT_TYPE_JSON = 'application/json';

const DEFAULT_CONTENT_TYPES = { text: CONTENT_TYPE_TEXT, bytes: CONTENT_TYPE_OCTET_STREAM, json: CONTENT_TYPE_JSON } as const;
const STATUS_OK = 200;
/** RFC 9110 field names (already lower-cased): what an HTTP/1.1 response can carry. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** What no field value may hold: control characters but tab (any other character goes as UTF-8). */
const HEADER_VALUE_CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export interface DispatchContext {
  host: JsHost;
  tx: Transaction;
  /** Required by endpoints of mode "historical". */
  historicalState?: HistoricalStateInput;
  /** Governance's `log_exception_details` (see EndpointCallState). */
  logExceptionDetails?: boolean;
}

/** Runs `match`'s function for `request`; JS failures surface as CocoErrors (JsException, ...). */
export function dispatchEndpoint(interpreter: JsInterpreter, match: EndpointMatch, request: AppRequest, context: DispatchContext): AppResponse {
  const { info } = match;
  if (info.mode === 'historical' && context.historicalState === undefined) {
    throw new CocoError('InternalError', `endpoint ${match.key} has mode "historical" but no historical state was provided`);
  }
  const state: EndpointCallState = { body: request.body, logExceptionDetails: context.logExceptionDetails === true };
  const startMs = context.host.monotonicMs();
  const result = interpreter.callEndpoint(info.js_module, info.js_function, jsRequestObject(request, match), {
    host: context.host,
    tx: context.tx,
    kvContext: info.mode === 'readwrite' ? 'application' : 'application-readonly',
    endpoint: state,
    historicalState: context.historicalState,
  });
  // CCF's message first, so that clients matching on it still do; then what exactly was wrong.
  const invalidResponse = (category: string, reason: string) =>
    new CocoError('JsInvalidResponse', `Invalid endpoint function return value (${category}). "${info.js_module}" export "${info.js_function}": ${reason}`);
  if (result.kind === 'invalid') throw invalidResponse(result.category, result.reason);
  const statusCode = result.statusCode ?? STATUS_OK;
  const headers: Record<string, string> = result.kind === 'none' ? {} : { 'content-type': DEFAULT_CONTENT_TYPES[result.kind] };
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    // A header the response cannot carry (say, a CR LF from request input) fails this call, as
    // an invalid return value does, rather than the write of the response after the commit.
    if (!HEADER_NAME.test(name) || HEADER_VALUE_CONTROL.test(value)) {
      throw invalidResponse(HEADER_NAME.test(name) ? 'header value type' : 'header type', `header ${JSON.stringify(name)}: ${JSON.stringify(value)} has characters HTTP does not allow`);
    }
    headers[name] = headerValueToWire(value);
  }
  if (interpreter.metricsLoggingEnabled) {
    const elapsedMs = Math.round(context.host.monotonicMs() - startMs);
    // CCF's line after its "file:line | " prefix: its tests find these lines by "[js] ... | JS execution complete".
    context.host.log('info', `[js] app metrics | JS execution complete: Method=${request.method}, Path=${APP_PATH_PREFIX}${match.route}, Status=${statusCode}, ExecMilliseconds=${elapsedMs}`);
  }
  const response: AppResponse = {
    statusCode,
    headers,
    body: result.kind === 'none' ? undefined : result.body,
    applyWrites: state.applyWrites ?? (statusCode >= 200 && statusCode < 300),
  };
  if (state.claimsDigest !== undefined) response.claimsDigest = state.claimsDigest;
  return response;
}
