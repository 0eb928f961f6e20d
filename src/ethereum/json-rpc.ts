// JSON-RPC 2.0 over a table of methods: single requests and batches (elements started in order,
// answered in order), notifications (no id, no answer), and the standard errors: -32700 parse error, -32600
// invalid request, -32601 method not found, -32602 invalid params. Errors from the methods become
// Ethereum's conventional answers: 3 "execution reverted" with the revert data, -32000 with the
// message for every refusal (nonce too low, insufficient funds, ...), -32603 for a bug.
// A request is bounded as a whole, however many elements it holds: its elements share one
// execution time budget, one count of logs and one response size, and a batch gives the event loop
// a turn between elements once they have worked for a slice.

import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../errors.js';
import type { TimeAllowance } from './execution-budget.js';
import { BATCH_REQUESTS_MAX, LOGS_RESULTS_MAX, RESPONSE_BYTES_MAX } from './limits.js';
import type { JobTurns } from './one-at-a-time.js';
import { ExecutionReverted } from './revert.js';

export class JsonRpcError extends Error {
  readonly code: number;
  /** Hex data (the revert data of code 3). */
  readonly data: string | undefined;

  constructor(code: number, message: string, data?: string) {
    super(message);
    this.name = 'JsonRpcError';
    this.code = code;
    this.data = data;
  }
}

export type JsonRpcId = string | number | null;

/** What the elements of one request share, so that a batch costs no more than one call can. */
export interface RequestScope {
  /** Execution time left to the request: EVM runs stop where it ends. */
  readonly time: TimeAllowance;
  /** Logs the request may still return. */
  logsRemaining: number;
  /** Bytes of response the request may still build. */
  responseBytesRemaining: number;
  /** Who sent it (a user ID, a JWT's issuer and subject): what per-caller bounds count by. */
  readonly caller: string;
  /**
   * Waits for what `start` begins elsewhere (a write forwarded to the primary, the earlier nonces of a
   * sender): not work done here, so a batch starts its next calls of the same method meanwhile (one
   * of them may be what this one waits for) and does not count the wait against the request's time.
   */
  waitFor<T>(start: () => Promise<T>): Promise<T>;
}

/** The bounds of a new request from `caller`, `requestTimeMs` its execution time. */
export function requestScope(requestTimeMs = Infinity, caller = ''): RequestScope {
  return { time: { remainingMs: requestTimeMs }, logsRemaining: LOGS_RESULTS_MAX, responseBytesRemaining: RESPONSE_BYTES_MAX, caller, waitFor: (start) => start() };
}

/** One batch element's view of its request's scope: the bounds it shares, and a wait that calls `park` (the batch goes on). */
function elementScope(scope: RequestScope, park: () => void): RequestScope {
  return {
    time: scope.time,
    caller: scope.caller,
    get logsRemaining() {
      return scope.logsRemaining;
    },
    set logsRemaining(value) {
      scope.logsRemaining = value;
    },
    get responseBytesRemaining() {
      return scope.responseBytesRemaining;
    },
    set responseBytesRemaining(value) {
      scope.responseBytesRemaining = value;
    },
    waitFor: (start) => {
      park();
      return start();
    },
  };
}

/** A method: its positional parameters in, its JSON result out (throws JsonRpcError or CocoError). */
export type JsonRpcMethod = (params: unknown[], scope: RequestScope) => Promise<unknown>;

export type JsonRpcMethods = Readonly<Record<string, JsonRpcMethod>>;

interface ErrorObject {
  code: number;
  message: string;
  data?: string;
}

type Response = { jsonrpc: '2.0'; id: JsonRpcId; result: unknown } | { jsonrpc: '2.0'; id: JsonRpcId; error: ErrorObject };

/** How a node bounds each request in time; without, a request's time is not bounded and a batch never yields. */
export interface JsonRpcTurns extends JobTurns {
  /** Execution time one request may use in all, its elements together (ethereum.max_execution_time_ms). */
  requestTimeMs: number;
}

/** Answers an element once the request's time is used up: as a timed-out EVM run, with nothing written. */
function requestTimeout(requestTimeMs: number): JsonRpcError {
  return new JsonRpcError(
    -32000,
    `execution timeout: this request's elements used up its ${requestTimeMs} ms (ethereum.max_execution_time_ms); nothing was written. Send fewer requests per batch`,
  );
}

/** CocoError codes that mean the caller's parameters were wrong rather than refused by the chain. */
const PARAMS_CODES: ReadonlySet<string> = new Set(['InvalidArgument']);

function errorObject(error: unknown): ErrorObject {
  if (error instanceof JsonRpcError) return error.data === undefined ? { code: error.code, message: error.message } : { code: error.code, message: error.message, data: error.data };
  if (error instanceof ExecutionReverted) return { code: 3, message: error.message, data: bytesToHex(error.data) };
  if (error instanceof CocoError && error.code !== 'InternalError') {
    return { code: PARAMS_CODES.has(error.code) ? -32602 : -32000, message: error.message };
  }
  return { code: -32603, message: `internal error: ${error instanceof Error ? error.message : String(error)}` };
}

function failure(id: JsonRpcId, code: number, message: string): Response {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

function isId(value: unknown): value is JsonRpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/** Answers one request object; undefined for a notification. */
async function answer(request: unknown, methods: JsonRpcMethods, scope: RequestScope, requestTimeMs: number): Promise<Response | undefined> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return failure(null, -32600, 'invalid request: expected an object like {"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}');
  }
  const { jsonrpc, id, method, params } = request as Record<string, unknown>;
  const notification = !('id' in request);
  if (!notification && !isId(id)) return failure(null, -32600, 'invalid request: id must be a string, a number or null');
  const replyId = notification ? null : (id as JsonRpcId);
  if (jsonrpc !== '2.0') return failure(replyId, -32600, 'invalid request: jsonrpc must be "2.0"');
  if (typeof method !== 'string') return failure(replyId, -32600, 'invalid request: method must be a string');
  if (params !== undefined && !Array.isArray(params)) {
    return failure(replyId, -32602, 'invalid params: params must be an array (named parameters are not supported)');
  }
  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
  let response: Response;
  if (handler === undefined) {
    response = failure(replyId, -32601, `the method ${method} does not exist/is not available`);
  } else {
    try {
      if (scope.time.remainingMs <= 0) throw requestTimeout(requestTimeMs);
      response = { jsonrpc: '2.0', id: replyId, result: (await handler(params ?? [], scope)) ?? null };
    } catch (error) {
      response = { jsonrpc: '2.0', id: replyId, error: errorObject(error) };
    }
  }
  return notification ? undefined : response;
}

/** The JSON of `response`, or of an error once the request's response would pass RESPONSE_BYTES_MAX. */
function serialize(response: Response, scope: RequestScope): string {
  let json = JSON.stringify(response);
  if (json.length > scope.responseBytesRemaining) {
    // As geth's batch response limit: this element and every later one answer the error.
    scope.responseBytesRemaining = 0;
    json = JSON.stringify(failure(response.id, -32003, `response too large: a request's response holds at most ${RESPONSE_BYTES_MAX} bytes; split the batch or narrow the query`));
  }
  scope.responseBytesRemaining -= json.length;
  return json;
}

/**
 * Answers a JSON-RPC request body: the response body, or undefined when there is nothing to send back
 * (notifications only). Batch elements run one after the other, in order, within the bounds of one
 * request (see RequestScope), with turns of the event loop between them when `turns` is given. An
 * element that waits for something done elsewhere (RequestScope.waitFor) lets the next calls of its
 * method start (a sender's later nonce may come before an earlier one); any other element starts once
 * it is done. The answers keep the order of the request. `caller` names who sent it.
 */
export async function handleJsonRpc(body: string, methods: JsonRpcMethods, turns?: JsonRpcTurns, caller = ''): Promise<string | undefined> {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch (error) {
    return JSON.stringify(failure(null, -32700, `parse error: ${error instanceof Error ? error.message : String(error)}`));
  }
  const requestTimeMs = turns?.requestTimeMs ?? Infinity;
  const scope = requestScope(requestTimeMs, caller);
  if (!Array.isArray(request)) {
    const response = await answer(request, methods, scope, requestTimeMs);
    return response === undefined ? undefined : serialize(response, scope);
  }
  if (request.length === 0) return JSON.stringify(failure(null, -32600, 'invalid request: empty batch'));
  if (request.length > BATCH_REQUESTS_MAX) {
    return JSON.stringify(failure(null, -32600, `invalid request: a batch holds at most ${BATCH_REQUESTS_MAX} requests, got ${request.length}`));
  }
  const nowMs = turns?.nowMs ?? (() => 0);
  const answers: Promise<Response | undefined>[] = [];
  // Elements waiting on something done elsewhere, all calls of one method: only calls of that method
  // start before they finish, so that any other element sees what they did (a read after a write).
  let waiting: { method: unknown; answers: Promise<unknown>[] } | undefined;
  let sliceStartMs = nowMs();
  for (const element of request) {
    const method = (element as { method?: unknown } | null)?.method;
    if (waiting !== undefined && method !== waiting.method) {
      await Promise.all(waiting.answers);
      waiting = undefined;
    }
    if (turns !== undefined && nowMs() - sliceStartMs >= turns.sliceMs) {
      await turns.nextTurn();
      sliceStartMs = nowMs();
    }
    const startMs = nowMs();
    const remainingBeforeMs = scope.time.remainingMs;
    let parkedAtMs: number | undefined;
    let goOn!: () => void;
    const parked = new Promise<void>((resolve) => (goOn = resolve));
    const answered = answer(element, methods, elementScope(scope, () => ((parkedAtMs ??= nowMs()), goOn())), requestTimeMs);
    answers.push(answered);
    await Promise.race([answered, parked]);
    if (parkedAtMs !== undefined) {
      waiting ??= { method, answers: [] };
      waiting.answers.push(answered);
    }
    // The element's time until it finished or began to wait; its EVM runs (and those of parked elements
    // that ran meanwhile) already took theirs from the allowance.
    const workedMs = (parkedAtMs ?? nowMs()) - startMs;
    scope.time.remainingMs -= Math.max(0, workedMs - (remainingBeforeMs - scope.time.remainingMs));
  }
  const responses: string[] = [];
  for (const response of await Promise.all(answers)) {
    if (response !== undefined) responses.push(serialize(response, scope));
  }
  return responses.length === 0 ? undefined : `[${responses.join(',')}]`;
}
