// JSON-RPC 2.0 over a table of methods: single requests and batches (answered element by element,
// in order), notifications (no id, no answer), and the standard errors: -32700 parse error, -32600
// invalid request, -32601 method not found, -32602 invalid params. Errors from the methods become
// Ethereum's conventional answers: 3 "execution reverted" with the revert data, -32000 with the
// message for every refusal (nonce too low, insufficient funds, ...), -32603 for a bug.

import { bytesToHex } from '@ethereumjs/util';
import { CocoError } from '../errors.js';
import { BATCH_REQUESTS_MAX } from './limits.js';
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

/** A method: its positional parameters in, its JSON result out (throws JsonRpcError or CocoError). */
export type JsonRpcMethod = (params: unknown[]) => Promise<unknown>;

export type JsonRpcMethods = Readonly<Record<string, JsonRpcMethod>>;

interface ErrorObject {
  code: number;
  message: string;
  data?: string;
}

type Response = { jsonrpc: '2.0'; id: JsonRpcId; result: unknown } | { jsonrpc: '2.0'; id: JsonRpcId; error: ErrorObject };

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
async function answer(request: unknown, methods: JsonRpcMethods): Promise<Response | undefined> {
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
      response = { jsonrpc: '2.0', id: replyId, result: (await handler(params ?? [])) ?? null };
    } catch (error) {
      response = { jsonrpc: '2.0', id: replyId, error: errorObject(error) };
    }
  }
  return notification ? undefined : response;
}

/**
 * Answers a JSON-RPC request body: the response body, or undefined when there is nothing to send back
 * (notifications only). Batch elements run one after the other, in order.
 */
export async function handleJsonRpc(body: string, methods: JsonRpcMethods): Promise<string | undefined> {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch (error) {
    return JSON.stringify(failure(null, -32700, `parse error: ${error instanceof Error ? error.message : String(error)}`));
  }
  if (!Array.isArray(request)) {
    const response = await answer(request, methods);
    return response === undefined ? undefined : JSON.stringify(response);
  }
  if (request.length === 0) return JSON.stringify(failure(null, -32600, 'invalid request: empty batch'));
  if (request.length > BATCH_REQUESTS_MAX) {
    return JSON.stringify(failure(null, -32600, `invalid request: a batch holds at most ${BATCH_REQUESTS_MAX} requests, got ${request.length}`));
  }
  const responses: Response[] = [];
  for (const element of request) {
    const response = await answer(element, methods);
    if (response !== undefined) responses.push(response);
  }
  return responses.length === 0 ? undefined : JSON.stringify(responses);
}
