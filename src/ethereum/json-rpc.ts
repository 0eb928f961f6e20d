// JSON-RPC 2.0 over a table of methods: single requests and batches (elements started in order, save
// that calls of a method waiting on something done elsewhere go ahead of the elements that wait for
// them; answered in order), notifications (no id, no answer), and the standard errors: -32700 parse error, -32600
// invalid request, -32601 method not found, -32602 invalid params. Errors from the methods become
// Ethereum's conventional answers: 3 "execution reverted" with the revert data, -32000 with the
// message for every refusal (nonce too low, insufficient funds, ...), -32603 for a bug.
// A request is bounded as a whole, however many elements it holds: its elements share one
// execution time budget, one count of logs and one response size, and a batch gives the event loop
// a turn between elements once they have worked for a slice. Its reads answer from one commit point.

import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../errors.js';
import { requestTimeUsedUp, type TimeAllowance } from './execution-budget.js';
import { BATCH_REQUESTS_MAX, LOGS_RESULTS_MAX, RESPONSE_BYTES_MAX } from './limits.js';
import type { JobTurns } from './one-at-a-time.js';
import { ExecutionReverted } from './revert.js';
import { needsIdTexts, numericIdTexts } from './json-rpc-ids.js';

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
   * The seqno up to which the request's reads take the node's state as Committed, set by its first
   * read: its elements agree on which blocks and receipts exist, however far commit moves while they
   * run (eth_blockNumber never counts a block whose receipt another element answered null).
   */
  committedSeqno?: bigint;
  /**
   * Waits for what `start` begins elsewhere (a write forwarded to the primary, the earlier nonces of a
   * sender, a write's turn in the node's queue of transactions): not work done here, so a batch
   * starts its next calls of the same method meanwhile (one of them may be what this one waits for;
   * see handleJsonRpc) and does not count the wait against the request's time.
   */
  waitFor<T>(start: () => Promise<T>): Promise<T>;
  /**
   * Waits, as waitFor, for what `start` begins elsewhere to make this element's answer final, once
   * what it did is visible on this node (a transaction that ran, waiting for its commit): the later
   * elements of the batch, of any method, need not wait for it, and start meanwhile.
   */
  waitForFinality<T>(start: () => Promise<T>): Promise<T>;
}

/** The bounds of a new request from `caller`, `requestTimeMs` its execution time. */
export function requestScope(requestTimeMs = Infinity, caller = ''): RequestScope {
  return {
    time: { remainingMs: requestTimeMs },
    logsRemaining: LOGS_RESULTS_MAX,
    responseBytesRemaining: RESPONSE_BYTES_MAX,
    caller,
    waitFor: (start) => start(),
    waitForFinality: (start) => start(),
  };
}

/** What a batch learns of one element's waits: it waits for what others do (the batch goes on), and it is done but for its answer. */
interface ElementWaits {
  park(): void;
  finish(): void;
}

/** One batch element's view of its request's scope: the bounds it shares, and waits that tell the batch. */
function elementScope(scope: RequestScope, waits: ElementWaits): RequestScope {
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
    get committedSeqno() {
      return scope.committedSeqno;
    },
    set committedSeqno(value) {
      scope.committedSeqno = value;
    },
    waitFor: (start) => {
      waits.park();
      return start();
    },
    waitForFinality: (start) => {
      waits.finish();
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

/** A numeric id answered as its request wrote it (see json-rpc-ids.ts). */
class IdText {
  constructor(readonly text: string) {}
}

type ReplyId = JsonRpcId | IdText;

type Response = { jsonrpc: '2.0'; id: ReplyId; result: unknown } | { jsonrpc: '2.0'; id: ReplyId; error: ErrorObject };

/** How a node bounds each request in time; without, a request's time is not bounded and a batch never yields. */
export interface JsonRpcTurns extends JobTurns {
  /** Execution time one request may use in all, its elements together (ethereum.max_execution_time_ms). */
  requestTimeMs: number;
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

function failure(id: ReplyId, code: number, message: string): Response {
  return { jsonrpc: '2.0', id, error: { code, message } };
}

/** The JSON of a response, its id as its request wrote it when that is kept. */
function responseJson(response: Response): string {
  if (!(response.id instanceof IdText)) return JSON.stringify(response);
  // A response's members are in this order: its id is the second, after a fixed first.
  const json = JSON.stringify({ ...response, id: 0 });
  const prefix = '{"jsonrpc":"2.0","id":0';
  return `{"jsonrpc":"2.0","id":${response.id.text}${json.slice(prefix.length)}`;
}

function isId(value: unknown): value is JsonRpcId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/** Answers one request object, whose numeric id was written `idText` when that is known; undefined for a notification. */
async function answer(request: unknown, methods: JsonRpcMethods, scope: RequestScope, requestTimeMs: number, idText?: string): Promise<Response | undefined> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return failure(null, -32600, 'invalid request: expected an object like {"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}');
  }
  const { jsonrpc, id, method, params } = request as Record<string, unknown>;
  const notification = !('id' in request);
  // A number too large for a double (1e400) is an id all the same, answered as written.
  if (!notification && idText === undefined && !isId(id)) return failure(null, -32600, 'invalid request: id must be a string, a number or null');
  const replyId: ReplyId = notification ? null : idText !== undefined ? new IdText(idText) : (id as JsonRpcId);
  if (jsonrpc !== '2.0') return failure(replyId, -32600, 'invalid request: jsonrpc must be "2.0"');
  if (typeof method !== 'string') return failure(replyId, -32600, 'invalid request: method must be a string');
  // geth takes "params": null as no parameters (its own client once sent it); so do tools written against it.
  if (params !== undefined && params !== null && !Array.isArray(params)) {
    return failure(replyId, -32602, 'invalid params: params must be an array (named parameters are not supported)');
  }
  const handler = Object.hasOwn(methods, method) ? methods[method] : undefined;
  let response: Response;
  if (handler === undefined) {
    response = failure(replyId, -32601, `the method ${method} does not exist/is not available`);
  } else {
    try {
      // As a timed-out EVM run, with nothing written.
      if (scope.time.remainingMs <= 0) throw requestTimeUsedUp(requestTimeMs);
      response = { jsonrpc: '2.0', id: replyId, result: (await handler(params ?? [], scope)) ?? null };
    } catch (error) {
      response = { jsonrpc: '2.0', id: replyId, error: errorObject(error) };
    }
  }
  return notification ? undefined : response;
}

/** The JSON of `response`, or of an error once the request's response would pass RESPONSE_BYTES_MAX. */
function serialize(response: Response, scope: RequestScope): string {
  let json = responseJson(response);
  if (json.length > scope.responseBytesRemaining) {
    // As geth's batch response limit: this element and every later one answer the error.
    scope.responseBytesRemaining = 0;
    json = responseJson(failure(response.id, -32003, `response too large: a request's response holds at most ${RESPONSE_BYTES_MAX} bytes; split the batch or narrow the query`));
  }
  scope.responseBytesRemaining -= json.length;
  return json;
}

/** A batch element that waits for something done elsewhere (RequestScope.waitFor) and is not done yet. */
interface WaitingElement {
  readonly index: number;
  readonly method: unknown;
  /** Settles once it answered, or has only its answer's finality left to wait for. */
  readonly done: Promise<unknown>;
}

/**
 * The position in `notStarted` (batch indexes, in order) of the first element that may start: one
 * whose waiting predecessors are all calls of its own method. A call of the waiting method may thus
 * go ahead of an element of another method that waits for them (a sender's earlier nonce listed
 * after a read); -1 when every element left waits.
 */
function nextToStart(notStarted: readonly number[], methodOf: (index: number) => unknown, waiting: ReadonlySet<WaitingElement>): number {
  // The first waiting element of each method: an element waits for those of other methods before it.
  const firstWaiting = new Map<unknown, number>();
  for (const element of waiting) firstWaiting.set(element.method, Math.min(element.index, firstWaiting.get(element.method) ?? Infinity));
  const firsts = [...firstWaiting];
  return notStarted.findIndex((index) => firsts.every(([method, first]) => method === methodOf(index) || first > index));
}

/**
 * Answers a JSON-RPC request body: the response body, or undefined when there is nothing to send back
 * (notifications only). Batch elements start one at a time, in order, within the bounds of one
 * request (see RequestScope), with turns of the event loop between them when `turns` is given. An
 * element that waits for something done elsewhere (RequestScope.waitFor: a write forwarded to the
 * primary, a later nonce waiting for an earlier one, a write waiting for its turn) lets the next
 * elements start. Those of another method wait until it is done, so that they see what it did (a read
 * after a write), but not for its answer to become final (a transaction that ran, waiting for its
 * commit: RequestScope.waitForFinality), while later calls of its method go ahead of them: a sender's
 * earlier nonce may come after the later one, with reads between them (ethers.js pairs each send
 * with an eth_blockNumber). The answers keep the order of the request. `caller` names who sent it.
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
  const idTexts = needsIdTexts(request) ? numericIdTexts(body) : undefined;
  if (!Array.isArray(request)) {
    const response = await answer(request, methods, scope, requestTimeMs, idTexts?.get(0));
    return response === undefined ? undefined : serialize(response, scope);
  }
  if (request.length === 0) return JSON.stringify(failure(null, -32600, 'invalid request: empty batch'));
  if (request.length > BATCH_REQUESTS_MAX) {
    return JSON.stringify(failure(null, -32600, `invalid request: a batch holds at most ${BATCH_REQUESTS_MAX} requests, got ${request.length}`));
  }
  const elements: unknown[] = request;
  const methodOf = (index: number): unknown => (elements[index] as { method?: unknown } | null)?.method;
  const nowMs = turns?.nowMs ?? (() => 0);
  const answers: Promise<Response | undefined>[] = [];
  const notStarted = elements.map((_, index) => index);
  const waiting = new Set<WaitingElement>();
  let sliceStartMs = nowMs();
  while (notStarted.length > 0) {
    const position = nextToStart(notStarted, methodOf, waiting);
    if (position === -1) {
      // Not work of this request: the time is not counted.
      await Promise.race([...waiting].map((element) => element.done));
      continue;
    }
    const index = notStarted.splice(position, 1)[0] as number;
    if (turns !== undefined && nowMs() - sliceStartMs >= turns.sliceMs) {
      await turns.nextTurn();
      sliceStartMs = nowMs();
    }
    let parkedAtMs: number | undefined;
    let goOn!: () => void;
    const parked = new Promise<void>((resolve) => (goOn = resolve));
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    let isDone = false;
    const park = () => {
      parkedAtMs ??= nowMs();
      goOn();
    };
    const finish = () => {
      park();
      isDone = true;
      finished();
    };
    const startMs = nowMs();
    const remainingBeforeMs = scope.time.remainingMs;
    const answered = answer(elements[index], methods, elementScope(scope, { park, finish }), requestTimeMs, idTexts?.get(index));
    // What the element does as it starts, up to its first wait (parsing, a read, sender recovery),
    // holds the event loop; a log scan in it took its time from the allowance already. What comes
    // after is EVM runs, which take theirs too, or waiting, which is no work of this request:
    // counting its time would count whatever else the loop ran meanwhile.
    const workedMs = (parkedAtMs ?? nowMs()) - startMs;
    scope.time.remainingMs -= Math.max(0, workedMs - (remainingBeforeMs - scope.time.remainingMs));
    answers[index] = answered;
    await Promise.race([answered, parked]);
    if (parkedAtMs !== undefined && !isDone) {
      // Waiting until it answers, or until only its answer is left to wait for (RequestScope.waitForFinality).
      const element: WaitingElement = { index, method: methodOf(index), done: Promise.race([answered, done]) };
      waiting.add(element);
      void element.done.then(() => waiting.delete(element));
    }
  }
  const responses: string[] = [];
  for (const response of await Promise.all(answers)) {
    if (response !== undefined) responses.push(serialize(response, scope));
  }
  return responses.length === 0 ? undefined : `[${responses.join(',')}]`;
}
