// Requests to the JavaScript application (`/app/...` paths the node does not serve itself): find
// the endpoint in the installed app, authenticate the caller by the endpoint's policies, run the
// handler in one transaction and commit its writes if it asks to; historical endpoints first load
// the requested transaction (202 + Retry-After until it is ready).

import { CocoError } from '../errors.js';
import { readServiceInfo, SINGLETON, Tables } from '../governance/builtin-tables.js';
import { APP_PATH_PREFIX } from '../js/app-request.js';
import { JS_TIMEOUT_MESSAGE, JsExceptionError, QUICKJS_LIMIT_REASONS } from '../js/js-exception.js';
import type { AppRuntime, AppRuntimeSettings } from './app-runtime.js';
import type { RedirectionStrategy } from '../js/app-bundle.js';
import type { HistoricalStateInput, JsHost } from '../js/js-host.js';
import type { JsValue } from '../js/js-value.js';
import type { Transaction } from '../kv/transaction.js';
import type { HistoricalState } from '../node/historical-states.js';
import type { Node } from '../node/node.js';
import { jsHistoricalState } from '../node/historical-ranges.js';
import { authenticate } from './authentication.js';
import { methodsAllowed, unknownPath } from './no-endpoint.js';
import { RpcError } from './rpc-error.js';
import { redirectLocation, type RpcHandler, type RpcRequest, type RpcResponse } from './rpc-server.js';
import { readTransactionId, type TransactionIdParameter } from './transaction-id-parameter.js';
import { uncommittedRefusal } from './uncommitted-refusal.js';
import { EndpointTable, isEndpointMatch } from '../js/endpoint-table.js';
import { readAppFromKv } from '../js/app-bundle.js';

/** Clients retry a historical request after this many seconds (CCF's). */
const HISTORICAL_RETRY_AFTER_SECONDS = 3;

/**
 * CCF's answer while a historical endpoint's transaction is read back (default_error_handler's
 * TransactionPartiallyReady, src/node/historical_queries_adapter.cpp): 202, Retry-After and a text body.
 */
function notYetAvailable(wanted: TransactionIdParameter): RpcResponse {
  return { status: 202, headers: { 'retry-after': String(HISTORICAL_RETRY_AFTER_SECONDS) }, body: `Historical transaction ${wanted.text} is not currently available.` };
}

/**
 * The state of `txId` once read back; undefined while it (or the receipt over it) is being read.
 * A transaction not committed is refused first, as CCF refuses it (uncommitted-refusal.ts).
 */
function loadedState(node: Node, wanted: TransactionIdParameter): HistoricalState | undefined {
  const status = node.status(wanted.txId);
  // Named as the caller wrote it: past 2^53 the numbers are rounded.
  if (status !== 'Committed') throw uncommittedRefusal(wanted.text, status);
  try {
    return node.historical.get(wanted.txId);
  } catch (error) {
    if (error instanceof CocoError && error.code === 'TransactionNotCached') return undefined;
    throw error;
  }
}

/**
 * Whether the installed app has an endpoint for a method and path (another method's endpoint on the
 * path does not count), its table read once per app version. An app the KV holds in a form that
 * cannot be read defines nothing here: its own requests say why, and the built-in endpoints serve on.
 */
export function appEndpointLookup(node: Node): (method: string, path: string) => boolean {
  let cached: { version: string; table: EndpointTable | undefined } | undefined;
  // A node that stopped applying transactions runs no app; its built-in endpoints say why it stopped.
  return (method, path) =>
    node.serving &&
    node.execute((tx) => {
      const version = appVersion(tx);
      if (cached?.version !== version) cached = { version, table: readableTable(tx) };
      return { result: cached.table !== undefined && isEndpointMatch(cached.table.match(method, path)), applyWrites: false };
    }).result;
}

function readableTable(tx: Transaction): EndpointTable | undefined {
  try {
    return new EndpointTable(readAppFromKv(tx).endpoints);
  } catch (error) {
    if (error instanceof CocoError) return undefined;
    throw error;
  }
}

/** The installed app's version: the seqno of the last `set_js_app` (which flushes interpreters). */
function appVersion(tx: Transaction): string {
  return String(tx.map(Tables.interpreterFlush).getVersionOfPreviousWrite(SINGLETON) ?? 'none');
}

/**
 * CCF's rule for the application frontend: every `/app` request, built-in endpoints, unknown paths
 * and wrong methods included, is answered 404 FrontendNotOpen until the service is Open. The checker
 * remembers the version of the service information it last found Open: it runs on every request,
 * and the information (with the service certificate) changes rarely.
 */
function openChecker(): (tx: Transaction) => void {
  let openAt: bigint | undefined;
  return (tx) => {
    const version = tx.map(Tables.serviceInfo).getVersionOfPreviousWrite(SINGLETON);
    if (version !== undefined && version === openAt) return;
    const status = readServiceInfo(tx)?.status;
    if (status === undefined) throw new RpcError(404, 'FrontendNotOpen', 'Frontend is not open: this node holds no service information yet (a joiner catching up with the service, or a service not started); retry shortly, or ask another node');
    if (status !== 'Open') throw new RpcError(404, 'FrontendNotOpen', `Frontend is not open: the service is ${status}; /app serves once members open it (transition_service_to_open)`);
    openAt = version;
  };
}

/**
 * `openChecker` over the node's current state: the server's `checkAppOpen`, run before any `/app`
 * route is looked up. A node whose retirement committed answers 503 NodeRetired instead: its state
 * stopped at its removal, so it would answer reads out of date, and authorize callers (a user removed
 * since) the service no longer does. CCF's frontend goes on serving there; only its
 * `/node/ready/app` says 503. `/node` and `/gov` stay open for the node's operator.
 */
export function appFrontendCheck(node: Node): () => void {
  const checkOpen = openChecker();
  return () => {
    if (node.stopNotice) throw node.retiredError('serves no application requests (its state stopped at its removal)');
    node.execute((tx) => ({ result: checkOpen(tx), applyWrites: false }));
  };
}

/** The call that failed, for the line that logs it: `POST /app/route`, and how long it ran. */
interface FailedCall {
  endpoint: string;
  elapsedMs: number;
}

/** CCF's errors for a failed handler: details only if governance enabled return_exception_details. */
function jsFailure(error: unknown, settings: AppRuntimeSettings, host: JsHost, call: FailedCall): never {
  if (error instanceof CocoError) {
    if (error.code === 'MethodNotAllowed') throw new RpcError(405, 'UnsupportedHttpVerb', error.message);
    // As in CCF, what is wrong with the app itself (a missing export, a module that fails to load, a
    // return value that is no response) is the message; only a handler's own exception is hidden.
    if (error.code === 'JsInvalidResponse' || error.code === 'JsModuleError') throw new RpcError(500, 'InternalError', error.message);
    if (error.code.startsWith('Js') && error.code !== 'JsUnavailable') {
      const reason = error instanceof JsExceptionError ? `${error.jsName === '' ? '' : `${error.jsName}: `}${error.jsMessage}` : QUICKJS_LIMIT_REASONS[error.code] ?? error.message;
      const trace = error instanceof JsExceptionError ? error.jsStack : undefined;
      // As CCF, a handler stopped at its limit is always logged: an operator sees why its answer was 500.
      if (error.code === 'JsExecutionTimeout') {
        host.log('info', `[js] ${call.endpoint}: JS execution has timed out after ${Math.round(call.elapsedMs)}ms (max is ${settings.limits.maxExecutionTimeMs}ms)`);
      }
      if (settings.logExceptionDetails) host.log('error', `JS exception: ${error.message}${trace === undefined ? '' : `\n${trace}`}`);
      // As in CCF: the message stays the same; the reason and trace go in details, when governance asks.
      const details = settings.returnExceptionDetails ? [{ code: 'JSException', message: reason, ...(trace === undefined ? {} : { trace }) }] : [];
      // A handler stopped at its time limit is logged and detailed the same way; only the message says so.
      const message = error.code === 'JsExecutionTimeout' ? JS_TIMEOUT_MESSAGE : 'Exception thrown while executing.';
      throw new RpcError(500, 'InternalError', message, {}, details);
    }
  }
  throw error;
}

/** Where this interface's requests can be sent: the primary's and a backup's `https://host:port`, when known. */
export interface RedirectTargets {
  primaryUrl(): string | undefined;
  backupUrl(): string | undefined;
}

/**
 * CCF's endpoint `redirection_strategy`: `to_primary` sends a request that reached a backup to the
 * primary, `to_backup` one that reached the primary to a backup (307, the same path and query; 503
 * when no such node is known). Without one, only writes go to the primary (they cannot run here).
 */
function checkRedirection(strategy: RedirectionStrategy | undefined, node: Node, targets: RedirectTargets, request: RpcRequest): void {
  const wanted = strategy === 'to_primary' && !node.isPrimary ? 'primary' : strategy === 'to_backup' && node.isPrimary ? 'backup' : undefined;
  if (wanted === undefined) return;
  const target = wanted === 'primary' ? targets.primaryUrl() : targets.backupUrl();
  if (target === undefined) {
    if (node.stopNotice) throw node.retiredError(`knows no ${wanted} to redirect to`);
    throw new RpcError(503, wanted === 'primary' ? 'PrimaryNotFound' : 'BackupNotFound', `the endpoint redirects to a ${wanted}, and this node knows no ${wanted} address; retry shortly`);
  }
  const location = redirectLocation(target, request);
  throw new RpcError(307, wanted === 'primary' ? 'NotPrimary' : 'NotBackup', `this endpoint is served by a ${wanted}: ${location}`, { location });
}

export function appRequestHandler(node: Node, runtime: AppRuntime, host: JsHost, nowSeconds: () => number, targets: RedirectTargets): RpcHandler {
  return async (request): Promise<RpcResponse> => {
    const path = request.pathname;
    const settings = node.execute((tx) => ({ result: runtime.settingsFor(tx), applyWrites: false })).result;
    const app = await runtime.appFor(settings);
    let applied = false;
    const { result, txId } = node.execute((tx) => {
      const version = appVersion(tx);
      const match = app.endpoints(version, tx).match(request.method, request.path);
      if (match === undefined) throw unknownPath(path);
      if (!isEndpointMatch(match)) return { result: methodsAllowed(request.method, path, match.allowedMethods, request.headers.upgrade), applyWrites: false };
      request.matched(match.route);
      // Coco redirects where CCF forwarded: an endpoint that must always run on the primary goes
      // there, and so does one that runs there "sometimes", once this connection's writes went there.
      const forwarding = match.info.forwarding_required;
      const forwarded = forwarding === 'always' || (forwarding === 'sometimes' && request.session.sentToPrimary);
      const strategy = match.info.redirection_strategy ?? (forwarded ? 'to_primary' : undefined);
      // CCF's session consistency: a session a backup forwarded once is forwarded from then on.
      if (match.info.redirection_strategy === undefined && forwarded && !node.isPrimary) request.session.sentToPrimary = true;
      checkRedirection(strategy, node, targets, request);
      // A readwrite endpoint runs on the primary only (CCF redirects it there before running it),
      // unless it asks to run on backups: sending it back to the primary would redirect it forever.
      const onBackup = strategy === 'to_backup' && !node.isPrimary;
      if (match.info.mode === 'readwrite' && !onBackup) node.checkCanWrite();
      const caller = authenticate({ tx, request, nowSeconds: nowSeconds() }, match.info.authn_policies) as JsValue | null;
      let historicalState: HistoricalStateInput | undefined;
      if (match.info.mode === 'historical') {
        const header = request.headers['x-ms-ccf-transaction-id'];
        if (typeof header !== 'string') throw new RpcError(400, 'MissingRequiredHeader', "Historical query is missing 'x-ms-ccf-transaction-id' header.");
        const wanted = historicalTxId(header);
        const state = loadedState(node, wanted);
        if (state === undefined) return { result: notYetAvailable(wanted), applyWrites: false };
        historicalState = jsHistoricalState(state);
      }
      let response;
      const startedMs = host.monotonicMs();
      try {
        response = app.invoke(version, { method: request.method, path, query: request.rawQuery, headers: request.headers, body: request.body, hostname: request.headers.host ?? null, caller }, tx, host, { logExceptionDetails: settings.logExceptionDetails, ...(historicalState !== undefined && { historicalState }) });
      } catch (error) {
        jsFailure(error, settings, host, { endpoint: `${request.method} ${APP_PATH_PREFIX}${match.route}`, elapsedMs: host.monotonicMs() - startedMs });
      }
      if (match.info.mode !== 'readwrite' && tx.hasWrites && response.applyWrites) {
        throw new RpcError(500, 'InternalError', `endpoint ${request.method} ${path} is ${match.info.mode} but wrote to the KV; its writes were discarded`);
      }
      // As CCF's backups, which cannot replicate what they would commit.
      if (onBackup && tx.hasWrites && response.applyWrites) {
        throw new RpcError(503, 'TransactionReplicationFailed', `endpoint ${request.method} ${path} runs on backups (redirection_strategy "to_backup"), which cannot commit writes: its writes were discarded. Make it write nothing there, or redirect it "to_primary"`);
      }
      applied = response.applyWrites;
      const result: RpcResponse = { status: response.statusCode, headers: response.headers, body: response.body };
      return { result, applyWrites: response.applyWrites, claimsDigest: response.claimsDigest };
    });
    // As in CCF: a read names the state it read; an answer whose writes were discarded names none.
    return { ...result, txId: txId ?? (applied ? node.lastTxId : null) };
  };
}

/** The transaction a historical request names in its header; CCF's code and words when it names none. */
function historicalTxId(header: string): TransactionIdParameter {
  const read = readTransactionId(header);
  if (read === undefined) throw new RpcError(400, 'InvalidHeaderValue', `The value '${header}' in header 'x-ms-ccf-transaction-id' could not be converted to a valid Tx ID.`);
  return read;
}
