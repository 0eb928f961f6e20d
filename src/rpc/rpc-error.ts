// Errors as CCF's frontends return them: an HTTP status and `{"error":{"code","message"}}`.

import { CocoError } from '../errors.js';

export class RpcError extends CocoError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** The HTTP status CCF uses for a CocoError code raised below the RPC layer. */
const STATUS_OF_CODE: Record<string, number> = {
  TransactionConflict: 409,
  LimitExceeded: 413,
  InvalidQueryParameterValue: 400,
  NodeCannotHandleRequest: 503,
};

export function asRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof CocoError) return new RpcError(STATUS_OF_CODE[error.code] ?? 500, STATUS_OF_CODE[error.code] ? error.code : 'InternalError', error.message);
  return new RpcError(500, 'InternalError', 'an internal error occurred; the node logged it');
}
