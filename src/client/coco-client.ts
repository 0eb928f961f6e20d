// HTTPS client of a Coco (or CCF) service over one keep-alive agent. It trusts only the given
// service certificate, presents the caller's certificate when given, follows 307/308 redirects to
// other nodes of the same service (at most `redirectsMax`), and bounds every request in time and
// response size. While the service elects a primary it asks again (503 NotPrimary) until the
// request's deadline, as when a node redirected it to a primary that has since retired (503
// NodeRetired), unless redirects are off. close() ends every request not yet answered, sent or still
// waiting for a connection. Failures are CocoErrors: 'TlsError', 'ConnectionFailed' (nothing was
// sent), 'ConnectionLost' (sent, outcome unknown), 'Timeout', or CocoRequestError.
// After a backup redirected an app or governance request to the primary (a 307 but CCF's to_backup),
// later such reads go to that primary first, on every connection, so that the client reads its own
// writes (CCF keeps a forwarded session on the primary); a read it fails goes to the configured node.
// Writes, and /node/ requests, still go to the configured node.

import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { createResponse, errorOf, type CocoResponse } from './coco-response.js';
import { ConnectionQueue } from './connection-queue.js';
import { checkCertificate, checkIdentity } from './identity-check.js';
import { nonNegativeInteger, positiveInteger } from './option-checks.js';
import { CocoRequestError } from './request-error.js';

export const REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/** Redirects followed for one request: a backup points at the primary, which may have just moved. */
export const REDIRECTS_MAX_DEFAULT = 5;
/** Ledger chunks (5 MB by default in CCF) and snapshots are the largest bodies a client fetches. */
export const RESPONSE_BODY_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
/** Connections a client opens to one node; further requests to it wait for one of them. */
export const CONNECTIONS_PER_NODE_DEFAULT = 16;

export interface CocoClientOptions {
  /** Base URL of a node, e.g. `https://127.0.0.1:8000`; without a port, HTTPS's 443. */
  url: string;
  /** The service certificate (`service_cert.pem`): the only certificate the client trusts. */
  caCertPem: string;
  /** Client identity (member or user certificate and its private key), presented in the TLS handshake. */
  certPem?: string;
  keyPem?: string;
  /** Per request, redirects, retries and the wait for a connection included (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Connections opened to each node (default 16): at most this many requests to one node are
   * under way at once, and the others wait, first come first served, within their timeout.
   */
  connectionsPerNode?: number;
  /**
   * Redirects followed per request (default 5). With 0 the client answers what the node asked
   * says: neither redirected nor asked again while the service elects a primary.
   */
  redirectsMax?: number;
  responseBodyBytesMax?: number;
}

export type RequestBody = Uint8Array | string | object;

export interface RequestOptions {
  /** Bytes (a Uint8Array, another view or an ArrayBuffer) as they are, a string as UTF-8 text, anything else as JSON. */
  body?: RequestBody;
  headers?: Record<string, string>;
  /** Overrides the content type implied by `body`. */
  contentType?: string;
  /** Return non-2xx responses instead of throwing CocoRequestError. */
  allowError?: boolean;
  /** Overrides the client's request timeout for this request (redirects and the wait for a connection included). */
  timeoutMs?: number;
}

type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const REDIRECT_STATUSES = new Set([307, 308]);
/** The port of an https: URL that names none, as of a managed service behind a load balancer. */
const HTTPS_PORT = 443;
/**
 * Connection failures that mean the node a redirect named is down: asking again cannot run the
 * request twice. ECONNRESET is one only as a ConnectionFailed (reset during the TLS handshake, so
 * nothing was written): a node being killed resets the connections its socket still accepted.
 */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);

function neverSent(error: unknown): error is CocoError {
  return error instanceof CocoError && error.code === 'ConnectionFailed' && NEVER_SENT_CODES.has(String((error.cause as { code?: unknown } | undefined)?.code));
}
/** How long to wait before asking again while the service elects a primary. */
const ELECTION_RETRY_MS = 100;
/**
 * The time a request asked again must have left for its answer: with less, the answer so far (no
 * primary) is given instead, rather than a timeout while a busy node answers the last question.
 */
const ELECTION_ANSWER_TIME_MIN_MS = 400;
/**
 * Methods sent again, once, when a kept-alive connection turns out closed before any answer: the
 * node closes idle connections after its keep-alive timeout, the time this client also keeps
 * them, so a request can leave on one the node is closing (RFC 9110 lets a client retry these).
 */
const RETRIED_ON_STALE_CONNECTION: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

function notPrimary(response: CocoResponse): boolean {
  return errorOf(response)?.code === 'NotPrimary';
}

/** Paths whose requests a backup may redirect to the primary, and whose reads then follow: node endpoints answer for their own node. */
function servedByPrimary(path: string): boolean {
  return path.startsWith('/app/') || path.startsWith('/gov/');
}

/**
 * Requests sent to the remembered primary first: reads, which may be sent again elsewhere when it
 * is gone (a write is never sent twice: it goes to the configured node, which redirects it).
 */
function readsFromPrimary(method: string, path: string): boolean {
  return RETRIED_ON_STALE_CONNECTION.has(method) && servedByPrimary(path);
}

function nodeRetired(response: CocoResponse): boolean {
  return errorOf(response)?.code === 'NodeRetired';
}

function errorMessage(response: CocoResponse): string | undefined {
  const message = errorOf(response)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** OpenSSL's certificate verification results, as Node reports them in `error.code`. */
const CERTIFICATE_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const CERTIFICATE_DATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ETIMEDOUT']);

/**
 * OpenSSL's reason when `error` is this client's refusal of a node certificate that the trusted
 * service certificate does not endorse; undefined for any other error. The refusal's advice names
 * the `caCertPem` option: a tool with its own setting for that certificate restates it.
 */
export function unendorsedNodeReason(error: unknown): string | undefined {
  if (!(error instanceof CocoError) || error.code !== 'TlsError') return undefined;
  const reason = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof reason === 'string' && CERTIFICATE_VERIFY_CODES.has(reason) ? reason : undefined;
}

export class CocoClient {
  /** The node's origin, e.g. `https://127.0.0.1:8000`. */
  readonly url: string;
  readonly #base: URL;
  readonly #agent: https.Agent;
  readonly #caCertPem: string;
  readonly #requestTimeoutMs: number;
  readonly #redirectsMax: number;
  readonly #responseBodyBytesMax: number;
  readonly #connectionsPerNode: number;
  readonly #queue: ConnectionQueue;
  /** Ends each request under way (sent, or waiting for a connection) with the given error. */
  readonly #cancels = new Set<(error: CocoError) => void>();
  /** The origin of the primary a backup last redirected an app or governance request to, while it answers as one. */
  #primary: string | undefined;
  #closed = false;

  constructor(options: CocoClientOptions) {
    this.#base = baseUrl(options.url);
    this.url = this.#base.origin;
    checkCertificate(options.caCertPem, 'caCertPem');
    this.#caCertPem = options.caCertPem;
    if ((options.certPem === undefined) !== (options.keyPem === undefined)) {
      throw new CocoError('InvalidArgument', 'pass both certPem and keyPem for a client identity, or neither');
    }
    if (options.certPem !== undefined && options.keyPem !== undefined) checkIdentity(options.certPem, options.keyPem, { cert: 'certPem', key: 'keyPem' });
    this.#requestTimeoutMs = positiveInteger(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT, 'requestTimeoutMs');
    this.#redirectsMax = nonNegativeInteger(options.redirectsMax ?? REDIRECTS_MAX_DEFAULT, 'redirectsMax');
    this.#responseBodyBytesMax = positiveInteger(options.responseBodyBytesMax ?? RESPONSE_BODY_BYTES_MAX_DEFAULT, 'responseBodyBytesMax');
    this.#connectionsPerNode = positiveInteger(options.connectionsPerNode ?? CONNECTIONS_PER_NODE_DEFAULT, 'connectionsPerNode');
    this.#queue = new ConnectionQueue(this.#connectionsPerNode);
    this.#agent = new https.Agent({
      keepAlive: true,
      maxSockets: this.#connectionsPerNode,
      ca: options.caCertPem,
      ...(options.certPem !== undefined && { cert: options.certPem, key: options.keyPem }),
    });
  }

  #dropIdleConnections(): void {
    for (const sockets of Object.values(this.#agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
  }

  /**
   * Sends `method path` (path with its query, e.g. `/app/tx?transaction_id=2.15`). Non-2xx answers
   * throw CocoRequestError unless `allowError`; 307/308 are followed with the same method and body,
   * and a 503 NotPrimary (no primary during an election: nothing was executed) is asked again.
   */
  async request(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<CocoResponse> {
    if (this.#closed) throw new CocoError('ClientClosed', 'this CocoClient was closed; create a new one');
    checkPath(path);
    const timeoutMs = positiveInteger(options.timeoutMs ?? this.#requestTimeoutMs, 'timeoutMs');
    const headers = requestHeaders(options);
    const body = encodeBody(options.body);
    if (body !== undefined) headers['content-length'] = body.length;
    const deadline = Date.now() + timeoutMs;
    const primary = readsFromPrimary(method, path) ? this.#primary : undefined;
    let url = new URL(path, primary ?? this.#base);
    let redirects = 0;
    /** This try went to the remembered primary, not where the configured node or a redirect said. */
    let atRememberedPrimary = primary !== undefined;
    /** Where a backup's 307 sent this request: the primary to remember once it answers as one. */
    let redirectedToPrimary: string | undefined;
    // The remembered primary is no longer one (down, retired, a backup now): forget it.
    const forgetPrimary = (): void => {
      if (this.#primary === url.origin) this.#primary = undefined;
      atRememberedPrimary = false;
    };
    const startOver = (): void => {
      url = new URL(path, this.#base);
      redirects = 0;
    };
    /** The nodes that redirected this request. */
    const visited = new Set<string>();
    /** A try sent on a kept-alive connection that broke before any answer, then sent again: it may have run. */
    let staleTry: StaleTry | undefined;
    // A later try that sent nothing does not make the request one that never ran.
    const sentBefore = (failure: unknown, connection: ConnectionState): unknown =>
      staleTry === undefined || connection.written || !(failure instanceof CocoError) ? failure : sentOnBrokenConnection(staleTry, failure);
    let electionRetries = 0;
    // While an election runs: wait, then ask the configured node again, if the deadline leaves time for an answer.
    const askAgainLater = async (): Promise<boolean> => {
      if (Date.now() + ELECTION_RETRY_MS + ELECTION_ANSWER_TIME_MIN_MS >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, ELECTION_RETRY_MS));
      startOver();
      electionRetries += 1;
      return true;
    };
    for (;;) {
      let response: CocoResponse;
      const connection: ConnectionState = { written: false };
      try {
        response = await this.#send(method, url, headers, body, { deadline, timeoutMs, electionRetries }, connection);
      } catch (error) {
        // close() while the request was under way cut its connection: that, not the node, ended it.
        if (this.#closed) {
          // Whether it may have run is what a caller needs to know to send it again or not.
          const reached = connection.written ? 'after it was sent: it may have run' : 'before it was sent: it did not run';
          throw new CocoError('ClientClosed', `${method} ${path}: this CocoClient was closed while the request was under way, ${reached}`, { cause: error });
        }
        if (error instanceof StaleConnection && RETRIED_ON_STALE_CONNECTION.has(method) && staleTry === undefined) {
          staleTry = { failure: error.cause, method, url };
          // The node closed its idle connections together (its keep-alive timeout): the retry must
          // not take another of them, as it would on a loaded machine where the agent's own timer is late.
          this.#dropIdleConnections();
          continue;
        }
        const failure = error instanceof StaleConnection ? error.cause : error;
        // The remembered primary is gone (stopped, killed, retired): the read goes to the configured node.
        if (atRememberedPrimary) {
          forgetPrimary();
          startOver();
          continue;
        }
        if (redirects === 0 || !neverSent(failure)) throw sentBefore(failure, connection);
        // The primary a node redirected to refuses connections: it is down and the others are
        // electing another. Nothing was sent: ask the node again, which will name the new one.
        if (await askAgainLater()) continue;
        throw sentBefore(new CocoError(failure.code, `${failure.message} (${nodeAddress(this.#base)} had redirected the request there, and asked again until the deadline)`, { cause: failure }), connection);
      }
      // With redirects off, the caller gets the redirect itself (or a CocoRequestError naming it).
      if (REDIRECT_STATUSES.has(response.status) && this.#redirectsMax > 0) {
        // The primary sending a to_backup endpoint's request to a backup (307 NotBackup) is still the primary.
        if (atRememberedPrimary && errorOf(response)?.code !== 'NotBackup') forgetPrimary();
        atRememberedPrimary = false;
        visited.add(url.href);
        if (redirects++ >= this.#redirectsMax) {
          // Sent round in a circle, the request is one no node can answer (say, a ledger every node
          // started after); otherwise the nodes are likely still electing a primary.
          const why = [...visited].includes(new URL(response.headers.location ?? '', url).href) ? 'the nodes sent it round in a circle: none of them can answer it' : 'is the service electing a primary? retry later';
          const reason = errorMessage(response);
          throw new CocoError('TooManyRedirects', `${method} ${path}: still redirected after ${this.#redirectsMax} redirects (last to ${response.headers.location ?? 'nowhere'}${reason === undefined ? '' : `: ${reason}`}); ${why}`);
        }
        url = redirectTarget(url, response.headers.location, method, path);
        // A 307 sends a write (or a read of a session that wrote) to the primary, unless it says NotBackup (CCF's to_backup).
        const toPrimary = response.status === 307 && errorOf(response)?.code !== 'NotBackup' && servedByPrimary(path) && url.origin !== this.#base.origin;
        redirectedToPrimary = toPrimary ? url.origin : undefined;
        continue;
      }
      // A backup that knows no primary yet (an election is under way) executed nothing: ask again.
      // So did a primary that retired after a backup redirected here: the backup learns its successor.
      const electing = notPrimary(response) || ((redirects > 0 || atRememberedPrimary) && nodeRetired(response));
      if (response.status === 503 && electing && atRememberedPrimary) {
        forgetPrimary();
        startOver();
        continue;
      }
      if (this.#redirectsMax > 0 && response.status === 503 && electing && (await askAgainLater())) continue;
      if (redirectedToPrimary === url.origin && !(response.status === 503 && electing)) this.#primary = redirectedToPrimary;
      if ((response.status < 200 || response.status > 299) && options.allowError !== true) {
        throw CocoRequestError.fromResponse(method, path, response);
      }
      return response;
    }
  }

  /** Ends every request not yet answered and closes every connection; later requests fail with 'ClientClosed'. */
  close(): void {
    this.#closed = true;
    for (const cancel of this.#cancels) cancel(new CocoError('ClientClosed', 'this CocoClient was closed'));
    this.#agent.destroy();
  }

  #send(
    method: HttpMethod,
    url: URL,
    headers: OutgoingHttpHeaders,
    body: Uint8Array | undefined,
    time: { deadline: number; timeoutMs: number; electionRetries: number },
    connection: ConnectionState,
  ): Promise<CocoResponse> {
    // A request asked again (a redirect, an election) after close() must not be sent.
    if (this.#closed) return Promise.reject(new CocoError('ClientClosed', 'this CocoClient was closed'));
    const target = nodeAddress(url);
    const bytesMax = this.#responseBodyBytesMax;
    const agent = this.#agent;
    const queue = this.#queue;
    const connectionsPerNode = this.#connectionsPerNode;
    const cancels = this.#cancels;
    const caCertPem = this.#caCertPem;
    return new Promise((resolve, reject) => {
      let settled = false;
      let request: ClientRequest | undefined;
      let withdraw = (): void => {};
      const settle = (error: unknown, response?: CocoResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        cancels.delete(cancel);
        withdraw();
        if (response !== undefined) resolve(response);
        else reject(error instanceof StaleConnection ? error : translateError(error, method, url, connection, caCertPem));
      };
      const cancel = (error: CocoError): void => {
        settle(error);
        request?.destroy();
      };
      cancels.add(cancel);
      const timer = setTimeout(() => {
        const asked = time.electionRetries === 0 ? '' : ` (asked ${time.electionRetries + 1} times while the service had no primary)`;
        cancel(
          request === undefined
            ? new CocoError('Timeout', `${method} ${url.pathname}: still waiting for one of the client's ${connectionsPerNode} connections to ${target} after ${time.timeoutMs} ms${asked}, so it was never sent; send fewer requests at once, or raise connectionsPerNode or the timeout`)
            : !connection.written
              ? new CocoError('Timeout', `${method} ${url.pathname}: could not connect to ${target} within ${time.timeoutMs} ms${asked} (no TLS handshake finished), so it was never sent; is the node up and reachable, and not too busy to accept connections?`)
              : new CocoError('Timeout', `${method} ${url.pathname}: no complete response from ${target} within ${time.timeoutMs} ms${asked}; is the node up and reachable?`),
        );
      }, Math.max(0, time.deadline - Date.now()));
      let answered = false;
      withdraw = queue.enter(target, send);

      function send(): void {
        let sent: ClientRequest;
        try {
          sent = https.request(url, { method, headers, agent }, receive);
        } catch (cause) {
          queue.leave(target);
          // Node validates methods and header values before sending anything.
          settle(new CocoError('InvalidArgument', `${method} ${url.pathname}: ${(cause as Error).message}`, { cause }));
          return;
        }
        request = sent;
        // Node writes the request once the TLS handshake is done, which a kept-alive connection is.
        sent.on('socket', (socket) => {
          // A connection whose handshake is done: kept alive (reusedSocket), or handed over by the
          // agent from the request before, which emits 'close' (freeing our queue) before 'free'.
          if (sent.reusedSocket || (socket as TLSSocket).authorized) {
            connection.written = true;
            return;
          }
          const written = (): void => void (connection.written = true);
          socket.once('secureConnect', written);
          sent.once('close', () => socket.removeListener('secureConnect', written));
        });
        // The connection is free for the next request once this one let go of its socket.
        sent.on('close', () => queue.leave(target));
        sent.on('error', (error) => {
          const stale = sent.reusedSocket && !answered && (error as NodeJS.ErrnoException).code === 'ECONNRESET';
          settle(stale ? new StaleConnection(translateError(error, method, url, connection, caCertPem)) : error);
        });
        sent.end(body);
      }

      function receive(incoming: IncomingMessage): void {
        answered = true;
        const chunks: Buffer[] = [];
        let bytes = 0;
        incoming.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > bytesMax) {
            cancel(new CocoError('ResponseTooLarge', `${method} ${url.pathname}: the response body from ${target} exceeds ${bytesMax} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        incoming.on('end', () => {
          try {
            settle(undefined, createResponse(incoming.statusCode ?? 0, incoming.headers, new Uint8Array(Buffer.concat(chunks, bytes)), url.href));
          } catch (error) {
            settle(error);
          }
        });
        incoming.on('error', (error) => settle(error));
      }
    });
  }
}

/** A node's base URL from `text`: https:, host and port only; CocoError 'InvalidArgument' otherwise. */
export function baseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new CocoError('InvalidArgument', `${JSON.stringify(text)} is not a URL; expected e.g. https://127.0.0.1:8000`, { cause });
  }
  if (url.protocol !== 'https:') throw new CocoError('InvalidArgument', `the service URL must use https:, got ${JSON.stringify(text)}`);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new CocoError('InvalidArgument', `the service URL is scheme, host and port only (e.g. https://127.0.0.1:8000), got ${JSON.stringify(text)}`);
  }
  return url;
}

/** `host:port` of a node's URL, the port named even where the URL leaves HTTPS's implied: messages say where they went. */
function nodeAddress(url: URL): string {
  return `${url.hostname}:${url.port === '' ? HTTPS_PORT : url.port}`;
}

function checkPath(path: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new CocoError('InvalidArgument', `a request path starts with a single "/", e.g. /app/commit; got ${JSON.stringify(path)}`);
  }
}

function requestHeaders(options: RequestOptions): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const contentType = options.contentType ?? impliedContentType(options.body);
  if (contentType !== undefined) headers['content-type'] = contentType;
  return headers;
}

function impliedContentType(body: RequestBody | undefined): string | undefined {
  if (body === undefined) return undefined;
  if (body instanceof Uint8Array) return 'application/octet-stream';
  if (typeof body === 'string') return 'text/plain; charset=utf-8';
  return 'application/json';
}

function encodeBody(body: RequestBody | undefined): Uint8Array | undefined {
  if (body === undefined || body instanceof Uint8Array) return body;
  if (typeof body === 'string') return utf8(body);
  // Other binary forms are bytes too, not the "{}" JSON makes of them.
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  let json: string | undefined;
  try {
    json = typeof body === 'function' ? undefined : (JSON.stringify(body) as string | undefined);
  } catch (cause) {
    throw new CocoError('InvalidArgument', `the request body cannot be sent as JSON: ${(cause as Error).message}`, { cause });
  }
  if (json === undefined) throw new CocoError('InvalidArgument', `the request body (a ${typeof body}) has no JSON form; pass bytes, a string or a JSON value`);
  return utf8(json);
}

/** The next URL of a redirect: https only, so the client certificate never leaves TLS. */
function redirectTarget(from: URL, location: string | undefined, method: string, path: string): URL {
  if (location === undefined || location === '') {
    throw new CocoError('InvalidRedirect', `${method} ${path}: the service redirected without a Location header`);
  }
  let url: URL;
  try {
    url = new URL(location, from);
  } catch (cause) {
    throw new CocoError('InvalidRedirect', `${method} ${path}: the service redirected to an unreadable Location ${JSON.stringify(location)}`, { cause });
  }
  if (url.protocol !== 'https:') {
    throw new CocoError('InvalidRedirect', `${method} ${path}: refusing a redirect to ${url.protocol} (${location}); only https: keeps the request confidential`);
  }
  return url;
}

/** A request that failed on a reused connection before any answer; `cause` is what the caller sees if it is not sent again. */
class StaleConnection extends Error {
  constructor(override readonly cause: CocoError) {
    super(cause.message);
  }
}

/** A try whose kept-alive connection broke after it was sent, before any answer. */
interface StaleTry {
  failure: CocoError;
  method: string;
  url: URL;
}

/**
 * The failure of a request sent again after a stale try, when the later try sent nothing (`retry`):
 * the stale try may have run, so it is 'ConnectionLost', naming both failures.
 */
function sentOnBrokenConnection(stale: StaleTry, retry: CocoError): CocoError {
  const broke = stale.failure.cause as { code?: unknown; message?: unknown } | undefined;
  const reason = typeof broke?.code === 'string' ? `${broke.code}: ${String(broke.message)}` : stale.failure.message;
  return new CocoError(
    'ConnectionLost',
    `${stale.method} ${stale.url.pathname} to ${nodeAddress(stale.url)}: the kept-alive connection it was sent on broke before any answer (${reason}), and sending it again failed (${retry.code}: ${retry.message}); the request may have run: check its effect before sending a write again`,
    { cause: retry },
  );
}

/** What is wrong with `certPem`'s dates now ("expired on ...", "is valid only from ..."), or undefined when it is in date. */
function outsideValidity(certPem: string, nowMs = Date.now()): string | undefined {
  const cert = new X509Certificate(certPem);
  if (Date.parse(cert.validTo) < nowMs) return `expired on ${cert.validTo}`;
  if (Date.parse(cert.validFrom) > nowMs) return `is valid only from ${cert.validFrom}`;
  return undefined;
}

/** How far a request's connection got when it failed. */
interface ConnectionState {
  /** The client finished the TLS handshake, so the request may have reached the node. */
  written: boolean;
}

/**
 * One clear CocoError for what the socket reported, keeping the original as `cause`: a connection
 * that broke after the request was written is 'ConnectionLost' (it may have run), else 'ConnectionFailed'.
 */
function translateError(error: unknown, method: string, url: URL, connection: ConnectionState, caCertPem: string): CocoError {
  if (error instanceof CocoError) return error;
  const code = (error as { code?: unknown }).code;
  const detail = (error as Error).message;
  const where = `${method} ${url.pathname} to ${nodeAddress(url)}`;
  if (typeof code === 'string') {
    if (CERTIFICATE_VERIFY_CODES.has(code)) {
      return new CocoError('TlsError', `${where}: the node's certificate is not endorsed by the trusted service certificate (${code}); pass the service's certificate (service_cert.pem) as caCertPem`, { cause: error });
    }
    if (CERTIFICATE_DATE_CODES.has(code)) {
      // OpenSSL reports the trusted certificate's own dates with the same codes as the node's.
      const caDates = outsideValidity(caCertPem);
      if (caDates !== undefined) {
        return new CocoError(
          'TlsError',
          `${where}: the trusted service certificate (caCertPem, service_cert.pem) ${caDates} (${code}); fetch the current one from GET /node/network (service_certificate), or check this machine's clock`,
          { cause: error },
        );
      }
      return new CocoError('TlsError', `${where}: the node's certificate is outside its validity period (${code}); check both clocks, or renew the node certificates`, { cause: error });
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new CocoError('TlsError', `${where}: the node's certificate does not name this host (${detail}); use the address the node publishes`, { cause: error });
    }
    if (code.includes('ALERT_CERTIFICATE_REQUIRED') || code.includes('ALERT_BAD_CERTIFICATE') || code.includes('ALERT_UNKNOWN_CA')) {
      return new CocoError('TlsError', `${where}: the node refused the client certificate (${code}); pass certPem and keyPem of an identity the service accepts`, { cause: error });
    }
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_OSSL_')) {
      return new CocoError('TlsError', `${where}: TLS failed (${code}: ${detail})`, { cause: error });
    }
    if (connection.written) {
      return new CocoError(
        'ConnectionLost',
        `${where}: the connection broke after the request was sent, before the whole answer came (${code}: ${detail}); the request may have run: check its effect before sending a write again`,
        { cause: error },
      );
    }
    if (code === 'ECONNRESET') {
      // A server that rejects the client certificate may just close the connection; so does a node at
      // its session cap, or one that gave up on a handshake it could not finish in time.
      return new CocoError(
        'ConnectionFailed',
        `${where}: the node closed the connection during the TLS handshake (${code}: ${detail}); nothing was sent. Either the node refused the connection (at its limit of open sessions, or too busy to finish handshakes: its log says which; retry later, with fewer connections) or, if it requires a client certificate, it refused this one: check certPem and keyPem`,
        { cause: error },
      );
    }
    if (CONNECTION_CODES.has(code)) {
      return new CocoError('ConnectionFailed', `${where}: connection failed (${code}); is the node running and listening on that address?`, { cause: error });
    }
  }
  if (connection.written) {
    return new CocoError('ConnectionLost', `${where}: ${detail}; the request was sent and may have run: check its effect before sending a write again`, { cause: error });
  }
  return new CocoError('ConnectionFailed', `${where}: ${detail}`, { cause: error });
}
