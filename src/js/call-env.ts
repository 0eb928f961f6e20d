// What one call into JavaScript runs with: the node's host interface, the transaction that
// `ccf.kv` reads and writes, the KV context that decides which maps it may touch, and the state of
// an endpoint call (request body, ccf.rpc flags) or of a governance call (for extra globals).

import type { Transaction } from '../kv/transaction.js';
import type { HistoricalStateInput, JsHost } from './js-host.js';
import type { KvContext } from './kv-access.js';

/** The per-request state of an endpoint call; `ccf.rpc.*` writes into it. */
export interface EndpointCallState {
  /** The request body that `request.body.text()/json()/arrayBuffer()` return. */
  readonly body: Uint8Array;
  /**
   * Governance's `log_exception_details`: whether the log line about a promise rejection nothing in
   * the request handled carries its message and trace (the node's log is outside the TEE, and an
   * exception may quote request data, so CCF logs exception details only when asked to).
   */
  readonly logExceptionDetails?: boolean;
  /** Set by `ccf.rpc.setApplyWrites`; undefined = decided by the status code. */
  applyWrites?: boolean;
  /** Set by `ccf.rpc.setClaimsDigest`: 32 bytes. */
  claimsDigest?: Uint8Array;
}

export interface CallEnv {
  host: JsHost;
  tx: Transaction;
  kvContext: KvContext;
  /** Present while an endpoint handles a request: enables `ccf.rpc.*` and `request.body`. */
  endpoint?: EndpointCallState;
  /** Present in historical endpoints: `ccf.historicalState`. */
  historicalState?: HistoricalStateInput;
  /** State for the interpreter's extra global installers (e.g. the effects of a governance `apply`). */
  extension?: unknown;
  /** A time limit for this call below the interpreter's own (the ballots of one proposal share one). */
  maxExecutionTimeMs?: number;
}
