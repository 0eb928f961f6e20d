// Errors as CCF's frontends return them: an HTTP status and `{"error":{"code","message"}}`.

import { CocoError } from '../errors.js';

/** One entry of an error's `details` (OData style): why one authentication policy refused the request, or a JS exception. */
export interface ErrorDetail {
  code: string;
  message: string;
  auth_policy?: string;
  trace?: string;
}

export type AuthErrorDetail = ErrorDetail & { auth_policy: string };

export class RpcError extends CocoError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(code, message);
  }
}

/**
 * A request that failed authentication; `challenge` is the WWW-Authenticate value to send, and
 * `details` what each policy of the endpoint said, as CCF lists them beside a 401.
 */
export class AuthenticationError extends CocoError {
  constructor(
    message: string,
    readonly challenge?: string,
    readonly details: readonly AuthErrorDetail[] = [],
  ) {
    super('InvalidAuthenticationInfo', message);
  }
}

export function errorBody(code: string, message: string, details: readonly ErrorDetail[] = []): string {
  return JSON.stringify({ error: details.length === 0 ? { code, message } : { code, message, details } });
}

/** The HTTP status CCF uses for a CocoError code raised below the RPC layer. */
const STATUS_OF_CODE: Record<string, number> = {
  TransactionConflict: 409,
  LimitExceeded: 413,
  InvalidQueryParameterValue: 400,
  InvalidInput: 400,
  NodeCannotHandleRequest: 503,
  InvalidAuthenticationInfo: 401,
  AuthorizationFailed: 403,
  ResourceNotFound: 404,
  ProposalNotFound: 404,
  VoteNotFound: 404,
  ProposalNotOpen: 400,
  ProposalFailedToValidate: 400,
  ProposalReplay: 400,
  ProposalCreatedTooLongAgo: 400,
  InvalidCreatedAt: 400,
  VoteAlreadyExists: 400,
  StateDigestMismatch: 400,
  FrontendNotOpen: 404,
  TransactionPendingOrUnknown: 404,
  TransactionInvalid: 404,
  TooManyPendingTransactions: 503,
  NotPrimary: 503,
  NodeRetired: 503,
  NodeFailed: 503,
  // Every interpreter of the app broke at once; replacements are being made.
  JsUnavailable: 503,
  InvalidQuote: 403,
  // A joiner's CSR that does not parse or is not signed by its own key: the request is wrong.
  CSRPublicKeyInvalid: 400,
  TransactionTooLarge: 413,
  // Not an error: an old receipt is being read back from the ledger (CCF's historical "not ready").
  TransactionNotCached: 202,
  // The node's own ledger file is damaged where a historical read needs it: a server error, named.
  LedgerEntryMalformed: 500,
  // A receipt signed under a service identity older than the previous one: none this node can endorse.
  ServiceEndorsementUnavailable: 404,
};

/** How to authenticate with a COSE Sign1 body, said after a COSE policy refused a request. */
export const COSE_CHALLENGE = 'COSE-SIGN1 realm="Signed request access"';

/**
 * Headers CCF adds to some errors: how to authenticate, after a governance COSE check failed (an
 * endpoint policy's refusal says its own challenge, or none for certificates); when to ask again, after a 202 or a 503 that passes.
 */
const HEADERS_OF_CODE: Record<string, Record<string, string>> = {
  InvalidAuthenticationInfo: { 'www-authenticate': COSE_CHALLENGE },
  TransactionNotCached: { 'retry-after': '1' },
  JsUnavailable: { 'retry-after': '1' },
};

export function asRpcError(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof AuthenticationError) {
    return new RpcError(401, error.code, error.message, error.challenge === undefined ? undefined : { 'www-authenticate': error.challenge }, error.details);
  }
  if (error instanceof CocoError) {
    const status = STATUS_OF_CODE[error.code];
    return status === undefined ? new RpcError(500, 'InternalError', error.message) : new RpcError(status, error.code, error.message, HEADERS_OF_CODE[error.code]);
  }
  return new RpcError(500, 'InternalError', 'an internal error occurred; the node logged it');
}
