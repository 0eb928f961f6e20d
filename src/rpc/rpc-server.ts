// The HTTPS frontend of a node: TLS with the node's service-endorsed certificate (clients trust the
// service certificate), optional client certificates (checked per endpoint by its authentication
// policy), bounded request bodies, routing to `/app`, `/gov` and `/node`, and CCF's error bodies
// and `x-ms-ccf-transaction-id` header on every successful response. Malformed HTTP gets a 400, never a hang;
// headers past CCF's http_configuration limits a 431. Client sessions are capped and counted per interface (session-caps.ts).

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { utf8 } from '../crypto/bytes.js';
import { derToPem } from '../crypto/pem.js';
import { TLS_POLICY } from '../crypto/tls-policy.js';
import { CocoError } from '../errors.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import { logLine } from '../node/buffered-log.js';
import { FailureLog } from '../node/failure-log.js';
import { descriptorsRemedy } from '../node/ledger-disk-error.js';
import { HANDSHAKE_PLACE_HELD_MS, HandshakePacer, type PacerClosure } from '../node/handshake-pacer.js';
import { connectionKey } from '../node/connection-key.js';
import { HTTP_LIMITS_DEFAULT } from '../node/node-config.js';
import { asRpcError, errorBody, RpcError } from './rpc-error.js';
import { endInPieces } from './answer-in-pieces.js';
import { FileBody } from './file-body.js';
import { methodsAllowed, unknownPath } from './no-endpoint.js';
import { checkAcceptsJson } from './accept-header.js';
import { offeredAlpnProtocols } from './client-hello-alpn.js';
import { discardIncoming, lingerAfterLastAnswer, lingeringEnd } from './lingering-close.js';
import { requestHeaders, type RequestHeaders } from './request-headers.js';
import { RequestTurns } from './request-turns.js';
import { RouteTable, type Frontend } from './route-table.js';
import type { SessionCounts } from './session-caps.js';
import { TurnWrites } from './turn-writes.js';

export interface RpcRequest {
  frontend: Frontend;
  method: string;
  /** Path under the frontend prefix. */
  path: string;
  /** The path as the request named it: `/app/log/private`, or `/log/private` for the same endpoint. */
  pathname: string;
  params: Record<string, string>;
  query: URLSearchParams;
  rawQuery: string;
  /** Lower-case names, the first value of each (request-headers.ts). */
  headers: RequestHeaders;
  body: Uint8Array;
  /** The client's TLS certificate, if it presented one. */
  clientCert: ClientCertificate | undefined;
  /**
   * Names the endpoint that takes the request, by its path template under the frontend (e.g.
   * `/log/{kind}`): the app's dispatch calls it once it found one. Metrics count endpoints, not paths.
   */
  matched(route: string): void;
  /** What the node keeps of the request's connection. */
  session: ConnectionSession;
}

export interface ConnectionSession {
  /**
   * A write of this connection was sent to the primary: its later requests to endpoints with
   * `forwarding_required: "sometimes"` go there too, so that it reads its own writes (CCF's session
   * consistency, which CCF kept by forwarding every later request of a forwarded session).
   */
  sentToPrimary: boolean;
}

export interface ClientCertificate {
  der: Uint8Array;
  pem: string;
  /** SHA-256 hex of the DER: the member or user ID it would have. */
  id: string;
  /** `id` in UTF-8: the key of the members' and users' tables. */
  idKey: Uint8Array;
}

/** The header naming an error's code beside CCF's error body, as the governance API's schema declares it. */
export const ERROR_CODE_HEADER = 'x-ms-error-code';

export interface RpcResponse {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as text/plain, bytes (or a FileBody, read as it is sent) as application/octet-stream, anything else as JSON. */
  body?: unknown;
  /** For HEAD, with no body: the Content-Length the GET's body would have. */
  contentLength?: number;
  /** The transaction the answer names; the node's current one when absent; none when null (nothing was applied). */
  txId?: TxId | null | undefined;
}

export type RpcHandler = (request: RpcRequest) => RpcResponse | Promise<RpcResponse>;

export interface RpcServerOptions {
  keyPem: string;
  certPem: string;
  maxBodyBytes: number;
  /** The longest name or value of a header (default CCF's 16 KiB); past it 431. */
  maxHeaderBytes?: number;
  /** More headers than this get 431 (default CCF's 256). */
  maxHeadersCount?: number;
  /**
   * The TxID a successful response carries when its handler names none: the last one the state
   * reflects. Absent for a node with no state yet (a pending joiner): its answers name none.
   */
  currentTxId?: () => TxId;
  /** Frontends whose every request is answered 404 FrontendNotOpen, as CCF's are before the node may serve them, and why. */
  closedFrontends?: { frontends: readonly Frontend[]; reason: string };
  /**
   * Throws (404 FrontendNotOpen) while `/app` is closed; checked before its routes are looked up, as
   * CCF's frontend checks it is open before it finds the endpoint.
   */
  checkAppOpen?: () => void;
  /** Fallback for `/app` paths no built-in route matches (the JS application). */
  appFallback?: RpcHandler;
  /**
   * CCF's accepted_endpoints: when set, an endpoint whose whole path (`/node/network/nodes/{node_id}`)
   * none of these matches is answered 503 on this interface, before it is redirected or run.
   */
  acceptedEndpoints?: readonly RegExp[];
  /**
   * Whether the JS application has an endpoint for this method and `/app` path: as CCF's, an app's
   * endpoint answers in place of the built-in one on the same path (`GET /commit`, `GET /api`...).
   */
  appDefines?: (method: string, path: string) => boolean;
  /**
   * `https://host:port` of the primary's matching interface, where a write that reached this
   * backup is redirected; undefined while no primary is known.
   */
  primaryUrl?: () => string | undefined;
  /** Called once each request is answered (the node catches its consensus clock up after long ones). */
  afterRequest?: () => void;
  /** The node's session counts, and the name of the interface this server is, with its caps there. */
  sessions: SessionCounts;
  interfaceName: string;
  /** A connection that has not finished its TLS handshake by then is dropped (default HANDSHAKE_TIMEOUT_MS). */
  handshakeTimeoutMs?: number;
  /** A connection that sends nothing for this long is dropped (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
  /** A request whose line and headers take longer to arrive is answered 408 (default HEADERS_TIMEOUT_MS). */
  headersTimeoutMs?: number;
  /** A request that takes longer to arrive whole is answered 408 (default REQUEST_TIMEOUT_MS; at least the headers timeout). */
  requestTimeoutMs?: number;
}

const FRONTENDS: readonly Frontend[] = ['app', 'gov', 'node'];
const HEADERS_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 60_000;
/** How often Node checks requests against those timeouts, as a share of the headers timeout. */
const TIMEOUT_CHECKS_PER_HEADERS_TIMEOUT = 4;
/**
 * An idle kept-alive connection is closed after 30 s, as its answers say (`Keep-Alive: timeout=30`,
 * whole seconds rounded down), plus a margin: a client that keeps it for the advertised time (Node's
 * agents do) has let it go before the node closes it, so no request leaves on a closing connection.
 */
const KEEP_ALIVE_TIMEOUT_MS = 30_900;
/** Node's default is 120 s: a connection that never starts TLS would hold a session place that long. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** CCF's `idle_connection_timeout`: covers a connection that finished TLS but never sends a request. */
const IDLE_TIMEOUT_MS = 60_000;
/** At most one line per this interval for each kind of connection refused (session caps, handshake pacing). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/**
 * The request line and headers together may take this many times the limit on one header (CCF
 * bounds each header only, up to 256 of them: 8 MiB a request by default, which 1,000 sessions
 * would multiply); past it 431 RequestHeaderTooLarge.
 */
const HEAD_BYTES_PER_HEADER_LIMIT = 4;
/**
 * Pieces (chunks of a chunked body, TLS records) any request body may arrive in, and beyond them
 * one more per BODY_BYTES_PER_PIECE_MIN it carries; past that it is refused 400
 * RequestBodyTooFragmented. Each piece costs the node a parser callback and an event (~5 us): a body
 * of 1-byte chunks cost ~50 times the CPU of its bytes sent whole, a few MB of it seconds. Clients
 * send kilobytes a piece; a body of 1-byte chunks is refused after ~1 KiB of it.
 */
const BODY_PIECES_FREE = 1024;
const BODY_BYTES_PER_PIECE_MIN = 256;
/**
 * Requests of one connection not yet answered, or whose answers the client has not yet read: past
 * it, the connection is no longer read, and the requests already read wait to run until answers
 * drain. Node pauses such a client by the size of the answers waiting, but answers here are written
 * a turn later, when it has read far ahead.
 */
const UNANSWERED_REQUESTS_MAX = 128;
/**
 * Requests read past that, waiting to run (a read can carry hundreds of small pipelined requests,
 * read before the node can answer any, however promptly the client reads): past it the next is
 * answered 503 and the connection closes once the answers due are written.
 */
const WAITING_REQUESTS_MAX = 1024;
/** Bytes of answers a connection may leave unread when another answer is due; past it, it is cut off. */
const UNREAD_ANSWER_BYTES_MAX = 8 * 1024 * 1024;
/**
 * Node's HTTP server pauses a connection whose socket has more than its high-water mark of writes
 * not yet completed when a request arrives (16 KiB), and pauses its parser too. Answers are written
 * a turn later, so a client that read a large answer and sent its next request at once often finds
 * the server not yet past that answer's write; on TLS the rest of a request already decrypted still
 * reaches the paused parser, which fails it with HPE_PAUSED: a valid request answered 400. The
 * backlog limits above already bound what a connection may leave unread; Node's pause is left for
 * beyond them. Node has no option for a server TLS socket's mark, hence its stream's state.
 */
function keepParserRunning(socket: TLSSocket): void {
  const state = (socket as unknown as { _writableState?: { highWaterMark?: unknown } })._writableState;
  // test/rpc/keep-alive-large-answers.test.ts fails if a Node.js keeps it elsewhere.
  if (typeof state?.highWaterMark === 'number') state.highWaterMark = UNREAD_ANSWER_BYTES_MAX;
}

/** An ALPN list in its wire form (RFC 7301 §3.1): each name after its length. */
const ALPN_HTTP_1_1 = Buffer.from('\x08http/1.1', 'latin1');
/** No protocol to offer: Node's TLS server then selects none (OpenSSL's SSL_TLSEXT_ERR_NOACK), whatever the client offers. */
const ALPN_NONE = Buffer.alloc(0);

/** Whether the ClientHello in `socket`'s buffer (HandshakePacer hands over connections with it there) offers http/1.1 by ALPN. */
function offersHttp11(socket: Socket): boolean {
  const head = socket.read() as Buffer | null;
  if (head === null) return false;
  socket.unshift(head);
  return offeredAlpnProtocols(head)?.includes('http/1.1') === true;
}

/** Endpoints counted (an app's included); calls to endpoints beyond it are not. */
const METRICS_ENTRIES_MAX = 1024;

export interface EndpointMetrics {
  path: string;
  method: string;
  calls: number;
  errors: number;
  failures: number;
  retries: number;
}

export class RpcServer {
  /** Per frontend path and method, as CCF's /api/metrics reports them. */
  readonly metrics = new Map<string, EndpointMetrics>();
  readonly routes = new Map<Frontend, RouteTable<RpcHandler>>(FRONTENDS.map((f) => [f, new RouteTable<RpcHandler>()]));
  /** HTTP over TLS over the connections `tcp` accepts; it listens on no port itself. */
  private readonly server: Server;
  /** Accepts connections paused, for the pacer to hand to TLS a bounded number at a time. */
  private readonly tcp: TcpServer;
  private readonly handshakes: HandshakePacer;
  private readonly turns = new RequestTurns();
  private readonly writes = new TurnWrites();
  /** Connections refused or answered 503 at the session caps, or closed by the handshake pacer: the first of each kind logged at once, then a line per interval. */
  private readonly refusals = new FailureLog(REFUSAL_LOG_INTERVAL_MS, 4);
  /** Connections admitted past the soft cap (by remote address and port: the TLS socket wraps the TCP one). */
  private readonly softCapped = new Set<string>();
  /** Every admitted TCP connection: `close()` ends those Node's HTTP server does not track (no TLS yet). */
  private readonly connections = new Set<Socket>();
  /** TLS connections whose handshake finished: only those can carry an HTTP error answer. */
  private readonly secured = new WeakSet<Socket>();
  /** Connections answered on a refusal and closing: what their clients still send is discarded (lingering-close.ts). */
  private readonly lingering = new WeakSet<Socket>();
  /** Per connection, how many requests it has sent, and which one's answer closes it. */
  private readonly started = new WeakMap<Socket, number>();
  /** The last request each connection started: while its body arrives, a parse error is its own. */
  private readonly lastRequests = new WeakMap<Socket, IncomingMessage>();
  /** Per connection, its requests not yet answered and read, and the bytes of their answers written (see UNANSWERED_REQUESTS_MAX). */
  private readonly backlogs = new WeakMap<Socket, Backlog>();
  private readonly closingAt = new WeakMap<Socket, number>();
  private readonly connectionSessions = new WeakMap<Socket, ConnectionSession>();

  private readonly maxHeaderBytes: number;
  private readonly maxHeadersCount: number;

  constructor(private readonly options: RpcServerOptions) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? HTTP_LIMITS_DEFAULT.maxHeaderBytes;
    this.maxHeadersCount = options.maxHeadersCount ?? HTTP_LIMITS_DEFAULT.maxHeadersCount;
    const headBytesMax = this.maxHeaderBytes * HEAD_BYTES_PER_HEADER_LIMIT;
    const headersTimeoutMs = options.headersTimeoutMs ?? HEADERS_TIMEOUT_MS;
    this.server = createServer(
      {
        ...this.secureContextOptions(options.certPem),
        requestCert: true,
        rejectUnauthorized: false,
        maxHeaderSize: headBytesMax,
        handshakeTimeout: options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
        connectionsCheckingInterval: Math.ceil(headersTimeoutMs / TIMEOUT_CHECKS_PER_HEADERS_TIMEOUT),
        // CCF answers a request without Host like any other; Node would answer a bare 400.
        requireHostHeader: false,
      },
      (request, response) => void this.handle(request, response),
    );
    // ALPN as CCF's server answers it: http/1.1 when the client offers it, else no protocol (the
    // client then speaks HTTP/1.1, as one without ALPN does), where Node would end the handshake
    // with a no_application_protocol alert (a client offering only h2). Node's TLS server takes its
    // list from its ALPNProtocols as a connection arrives, and reads the client's hello later.
    this.server.prependListener('connection', (socket: Socket) => {
      (this.server as unknown as { ALPNProtocols: Buffer }).ALPNProtocols = offersHttp11(socket) ? ALPN_HTTP_1_1 : ALPN_NONE;
    });
    // CCF ignores Expect; Node would answer anything but 100-continue with a bare 417.
    this.server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => void this.handle(request, response));
    // Node would send 100 Continue at once; a body the node refuses anyway is not invited (see dispatch).
    this.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => void this.handle(request, response, () => response.writeContinue()));
    // A CONNECT request would get no answer at all: it is no HTTP request for this server.
    this.server.on('connect', (request: IncomingMessage, socket: Socket) => {
      this.closeWith(socket, closingErrorAnswer('405 Method Not Allowed', 'UnsupportedHttpVerb', `${request.method ?? 'CONNECT'} is not supported: this is no proxy`));
    });
    // Node keeps at most this many header (and trailer) fields of a request, silently dropping the
    // rest (2,000 by default): one more than the limit, so that a request past it is seen to be.
    this.server.maxHeadersCount = this.maxHeadersCount + 1;
    this.server.headersTimeout = headersTimeoutMs;
    this.server.requestTimeout = Math.max(options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS, headersTimeoutMs);
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    // Inactivity on the socket closes it. Not one whose request body stopped arriving: its request
    // timeout is due within a timeout check (the request started no later than its last byte), and
    // answers CCF's 408, which a silent close at the same time would deny the client (QA).
    this.server.timeout = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.server.on('timeout', (socket: Socket) => {
      if (this.lastRequests.get(socket)?.complete !== false) socket.destroy();
    });
    // A client may end its side right after its requests (a TLS close_notify, or a bare FIN: tools
    // that send a request and wait, HTTP/1.0 clients): its requests are still answered, then the
    // connection closes. Node would close at once and answer none of them. Only once the handshake is
    // done (see 'secureConnection'): a client that ends its side during the handshake (one refusing
    // the node's certificate, say) has gone, and TLS would otherwise wait for it until the timeout.
    this.tcp = createTcpServer({ pauseOnConnect: true, noDelay: true });
    (this.server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
    this.handshakes = new HandshakePacer(this.server, options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS, { onClose: (socket, why) => this.logRefused(why, socket) });
    this.tcp.on('connection', (socket: Socket) => this.admit(socket));
    // Out of descriptors, libuv drops the waiting connections itself, with a spare descriptor, and
    // Node hears nothing (the node watches for that: cli/descriptor-watch.ts); without the spare,
    // Node reports the failed accept here, where nothing heard it stopped the node. listen()
    // reports its own failures.
    this.tcp.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.tcp.listening || this.refusals.record('accept', error.code ?? 'error') === undefined) return;
      const remedy = descriptorsRemedy(error.code);
      const what = remedy === undefined ? 'it accepts the connections that follow' : `it dropped the connections waiting, and refuses new ones while they last: ${remedy}`;
      logLine('warn', `coco node: interface ${options.interfaceName} could not accept a connection (${error.message}); ${what}`);
    });
    // Node's HTTP server checks its requests against the timeouts from when it listens.
    this.tcp.on('listening', () => this.server.emit('listening'));
    this.server.on('secureConnection', (socket: TLSSocket) => {
      socket.allowHalfOpen = true;
      this.secured.add(socket);
      keepParserRunning(socket);
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      // The connection was answered already, and is closing (an end of stream mid-request, say).
      if (this.lingering.has(socket)) return;
      // Ending a socket whose handshake never finished waits for TLS forever: it never closes, and
      // its session place is never given back. Only destroying it frees the connection.
      if (!this.secured.has(socket) || !socket.writable || error.code === 'ECONNRESET') return socket.destroy();
      // The client ended its side in the middle of a request: it has gone, and sent nothing malformed.
      if (error.code === 'HPE_INVALID_EOF_STATE') return socket.destroy();
      // Bytes after a request that closes the connection (`Connection: close`, HTTP/1.0): they are
      // ignored, and the answer still owed to that request is written before the connection closes.
      if (error.code === 'HPE_CLOSED_CONNECTION') return;
      // Node times a new connection out as if a request had started when it connected: one that
      // has sent no byte of a request (a TLS socket counts the bytes it decrypted) is owed no 408,
      // and is left to the idle timeout (CCF's idle_connection_timeout), which closes it silently.
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0) return;
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (!timedOut) options.sessions.countError(options.interfaceName, tooLarge ? 'request_header_too_large' : 'parsing');
      const answer = tooLarge
        ? closingErrorAnswer('431 Request Header Fields Too Large', 'RequestHeaderTooLarge', `the request line and headers exceed the limit of ${headBytesMax} bytes (4 times http_configuration.max_header_size)`)
        : timedOut
          ? closingErrorAnswer('408 Request Timeout', 'RequestTimeout', `the request did not arrive in time: its line and headers within ${headersTimeoutMs / 1000} s, all of it within ${this.server.requestTimeout / 1000} s`)
          : unparsableAnswer(error);
      // Requests parsed before this one are answered first, in order, as CCF does: a client would
      // otherwise read this error as the answer to a request that ran.
      // A request whose body was being read when the parse failed (a bad chunk) gets no answer of its
      // own: the error is its answer, once those before it have theirs.
      const backlog = this.backlogs.get(socket);
      const unanswerable = this.lastRequests.get(socket)?.complete === false ? 1 : 0;
      if (backlog !== undefined && backlog.requests > unanswerable) {
        this.discardRest(socket);
        backlog.unanswerable = unanswerable;
        backlog.afterLastAnswer = () => {
          if (!socket.destroyed) lingeringEnd(socket, answer);
        };
        return;
      }
      this.closeWith(socket, answer);
    });
  }

  /** Writes `answer` on a connection Node's HTTP server no longer answers on, and closes it without losing the answer (lingering-close.ts). */
  private closeWith(socket: Socket, answer: Uint8Array): void {
    this.discardRest(socket);
    lingeringEnd(socket, answer);
  }

  /**
   * After a request refused for its head or body, whose answer closes the connection: once that
   * answer is written the connection lingers, rather than resetting under a client still sending.
   */
  private refuseRest(socket: Socket): void {
    if (this.lingering.has(socket)) return;
    this.discardRest(socket);
    lingerAfterLastAnswer(socket);
  }

  /** Nothing more the client sends on `socket` is parsed: it is read and discarded, within bounds (lingering-close.ts). */
  private discardRest(socket: Socket): void {
    this.lingering.add(socket);
    discardIncoming(socket);
  }

  /**
   * CCF's session caps: past the hard cap a connection closes before TLS; past the soft cap it is
   * answered 503. An admitted connection waits its turn to handshake (see HandshakePacer).
   */
  private admit(socket: Socket): void {
    const { sessions, interfaceName } = this.options;
    const key = connectionKey(socket);
    if (key === undefined) return void socket.destroy();
    const admission = sessions.open(interfaceName);
    if (admission !== 'accept') this.logRefused(admission, socket);
    if (admission === 'refuse') return void socket.destroy();
    if (admission === 'soft-capped') this.softCapped.add(key);
    this.connections.add(socket);
    socket.once('close', () => {
      sessions.close(interfaceName);
      this.softCapped.delete(key);
      this.connections.delete(socket);
    });
    this.handshakes.add(socket);
  }

  /**
   * As CCF's nodes log each session they refuse: clients only see a closed connection or a 503. The
   * first of each kind is logged at once, then a line per interval with how many came since.
   */
  private logRefused(why: 'refuse' | 'soft-capped' | PacerClosure, socket: Socket): void {
    const count = this.refusals.record(why, why);
    if (count === undefined) return;
    const { sessions, interfaceName } = this.options;
    const caps = sessions.capsOf(interfaceName);
    const from = socket.remoteAddress ?? 'an unknown address';
    const atCap = "raise the cap in the interface's configuration, or have clients keep fewer connections open";
    const what = {
      refuse: `closed a new connection from ${from} before TLS: interface ${interfaceName} has ${caps.hard} open sessions, its max_open_sessions_hard; ${atCap}`,
      'soft-capped': `answers a new session from ${from} 503 SessionCapExhausted: interface ${interfaceName} has more than ${caps.soft} open sessions, its max_open_sessions_soft; ${atCap}`,
      'no-hello': `closed a connection from ${from} on interface ${interfaceName} whose client sent no complete TLS hello within the handshake timeout: it connected without starting TLS (a port scan, a plain-TCP health check, or a client holding idle connections); clients must start TLS as soon as they connect`,
      waited: `closed a connection from ${from} on interface ${interfaceName} that waited its turn to start TLS longer than the handshake timeout: connections arrive faster than this node can handshake; have clients keep their connections open rather than open new ones`,
      held: `closed a connection from ${from} on interface ${interfaceName} whose TLS handshake made others wait more than ${HANDSHAKE_PLACE_HELD_MS} ms: the client stalled, or this node is short of CPU for handshakes`,
    }[why];
    const more = count.suppressed === 0 ? '' : ` (and ${count.suppressed} more since the last such line)`;
    logLine('warn', `coco node: ${what}${more}`);
  }

  /**
   * Adds a route under one or several frontends (common endpoints exist under all three). A JSON
   * read refuses an Accept header that excludes JSON (406), as CCF's JSON endpoints do;
   * `ignoresAccept` for those CCF answers whatever it says (its governance API, and node endpoints
   * that write their body themselves).
   */
  add(frontends: Frontend | readonly Frontend[], method: string, path: string, handler: RpcHandler, options: { ignoresAccept?: boolean } = {}): void {
    for (const frontend of typeof frontends === 'string' ? [frontends] : frontends) this.routes.get(frontend)!.add({ method, path, handler, ignoresAccept: options.ignoresAccept === true });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', reject);
        resolve(this.tcp.address() as AddressInfo);
      });
    });
  }

  /** Serves `certPem` (for the same key) to the connections that start from now: a renewed certificate. */
  setCertificate(certPem: string): void {
    this.server.setSecureContext(this.secureContextOptions(certPem));
  }

  /** What TLS needs of this server to present `certPem`: its key, the certificate and the TLS policy. */
  private secureContextOptions(certPem: string) {
    return { key: this.options.keyPem, cert: certPem, minVersion: 'TLSv1.2' as const, ...TLS_POLICY };
  }

  async close(): Promise<void> {
    this.handshakes.close();
    this.server.closeAllConnections();
    for (const socket of this.connections) socket.destroy();
    // The HTTP server only stops its timeout checks: it listens on no port (its callback says so).
    this.server.close();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }

  /** As CCF: calls to endpoints, by their path template; a request for no endpoint counts nowhere. */
  private count(method: string, path: string, status: number): void {
    const key = `${method} ${path}`;
    let entry = this.metrics.get(key);
    if (entry === undefined) {
      if (this.metrics.size >= METRICS_ENTRIES_MAX) return;
      this.metrics.set(key, (entry = { path, method, calls: 0, errors: 0, failures: 0, retries: 0 }));
    }
    entry.calls += 1;
    if (status >= 400 && status < 500) entry.errors += 1;
    if (status >= 500) entry.failures += 1;
  }

  /** `admitBody` tells a client that awaits it (`Expect: 100-continue`) to send its body. */
  private async handle(request: IncomingMessage, response: ServerResponse, admitBody?: () => void): Promise<void> {
    const socket = request.socket;
    const index = (this.started.get(socket) ?? 0) + 1;
    this.started.set(socket, index);
    this.lastRequests.set(socket, request);
    // Node's parser stops reading at a request that asks to upgrade the connection (a WebSocket's,
    // h2c's): what the client sent after it in the same read is lost. Such a request is answered
    // as any other (this server speaks HTTP/1.1 only, as CCF answers it) and its answer closes the
    // connection, so that no request pipelined after it waits for an answer that never comes.
    if (asksToUpgrade(request)) this.closeAfter(response, socket, index);
    let backlog = this.backlogs.get(socket);
    if (backlog === undefined) this.backlogs.set(socket, (backlog = { requests: 0, bytes: 0, waiting: [] }));
    const overflow = backlog.waiting.length >= WAITING_REQUESTS_MAX;
    if (backlog.requests >= UNANSWERED_REQUESTS_MAX && !overflow) {
      // Read no more of the connection until answers drain; this request runs once one has.
      socket.pause();
      await new Promise<void>((resolve) => backlog.waiting.push(resolve));
    }
    backlog.requests += 1;
    /** Bytes of this request's answer, once written; its close takes them and the request off the backlog. */
    let answerBytes = 0;
    response.once('close', () => {
      backlog.requests -= 1;
      backlog.bytes -= answerBytes;
      backlog.waiting.shift()?.();
      const closing = backlog.afterLastAnswer;
      if (closing !== undefined && backlog.requests <= (backlog.unanswerable ?? 0)) {
        backlog.afterLastAnswer = undefined;
        return closing();
      }
      // The request let through may still be reading its body, and the connection's next requests are welcome.
      if (!socket.destroyed) socket.resume();
    });
    let result: RpcResponse;
    let endpoint: string | undefined;
    try {
      if (overflow) {
        this.closeAfter(response, socket, index);
        throw new RpcError(503, 'TooManyPipelinedRequests', `more than ${UNANSWERED_REQUESTS_MAX + WAITING_REQUESTS_MAX} requests arrived on this connection before the node could answer them: pipeline fewer at once (wait for answers before sending more); this connection closes once the answers due are written`);
      }
      if (this.softCapped.size > 0 && this.softCapped.has(connectionKey(socket) ?? '')) {
        this.closeAfter(response, socket, index);
        throw new RpcError(503, 'SessionCapExhausted', 'Service is currently busy and unable to serve new connections');
      }
      result = await this.dispatch(request, () => this.closedBefore(socket, index), (path) => (endpoint = path), admitBody);
    } catch (error) {
      // Pipelined after a request whose answer closes the connection: not run, and not answered,
      // since the connection closes once that answer is written.
      if (this.closedBefore(socket, index)) return;
      // The client left before sending its whole body: nobody to answer, and no failure of the node.
      if (error instanceof CocoError && error.code === 'RequestAborted') return;
      const rpcError = asRpcError(error);
      // An anticipated failure (a script that failed, CCF's 500s) is a line; anything else, a bug, its stack.
      if (rpcError.status === 500 && !(error instanceof RpcError)) logLine('error', `coco node: request failed: ${error instanceof CocoError ? `${error.message} [${error.code}]` : describeFailure(error)}`);
      result = { status: rpcError.status, headers: { ...rpcError.headers, [ERROR_CODE_HEADER]: rpcError.code }, body: JSON.parse(errorBody(rpcError.code, rpcError.message, rpcError.details)) };
      if (rpcError.status === 413 || rpcError.status === 431 || rpcError.code === 'RequestBodyTooFragmented') {
        this.closeAfter(response, socket, index);
        this.refuseRest(socket);
      }
      if (rpcError.status === 413 || rpcError.status === 431) {
        this.options.sessions.countError(this.options.interfaceName, rpcError.status === 413 ? 'request_payload_too_large' : 'request_header_too_large');
      }
    }
    // A body read from a file holds it open until the response closes, whether it was written or
    // not (a client gone while its handler ran or before its turn, an answer HTTP cannot carry).
    const fileBody = result.body;
    if (fileBody instanceof FileBody) {
      if (response.destroyed) void fileBody.close();
      else response.once('close', () => void fileBody.close());
    }
    const status = result.status ?? 200;
    if (endpoint !== undefined) this.count(request.method ?? 'GET', endpoint, status);
    // As in CCF, an answer names the transaction its handler applied, whatever its status (an app
    // may keep its writes with an error status), and a success that names none names the state it
    // read, as it is now, when the request was answered; other errors and redirects name none.
    const success = status >= 200 && status < 300;
    const answer = { ...result, txId: result.txId !== undefined ? result.txId : success ? this.options.currentTxId?.() : undefined };
    this.writes.queue(() => {
      // A client that reads none of its answers holds them all in the node's memory.
      if (backlog.bytes > UNREAD_ANSWER_BYTES_MAX) return void socket.destroy();
      send(response, answer);
      answerBytes = Number(response.getHeader('content-length') ?? 0);
      backlog.bytes += answerBytes;
    });
    this.options.afterRequest?.();
  }

  /** The answer to the `index`th request of its connection closes the connection: no later request runs. */
  private closeAfter(response: ServerResponse, socket: Socket, index: number): void {
    response.setHeader('connection', 'close');
    this.closingAt.set(socket, Math.min(index, this.closingAt.get(socket) ?? index));
  }

  private closedBefore(socket: Socket, index: number): boolean {
    return (this.closingAt.get(socket) ?? index) < index;
  }

  /** A write that reached a backup: CCF's default redirection_strategy `to_primary` (307). */
  private redirection(error: unknown, request: RpcRequest): RpcError | undefined {
    if (!(error instanceof CocoError) || error.code !== 'NotPrimary' || error instanceof RpcError) return undefined;
    const primary = this.options.primaryUrl?.();
    if (primary === undefined) return undefined;
    request.session.sentToPrimary = true;
    return new RpcError(307, 'NotPrimary', `this node is a backup; send writes to the primary at ${primary}`, { location: redirectLocation(primary, request) });
  }

  private sessionOf(socket: Socket): ConnectionSession {
    let session = this.connectionSessions.get(socket);
    if (session === undefined) this.connectionSessions.set(socket, (session = { sentToPrimary: false }));
    return session;
  }

  /**
   * CCF's http_configuration limits on header fields (`fields`, name then value, as Node's
   * rawHeaders; `what` they are): their count, and the length of each name and value.
   */
  private checkHeaders(fields: readonly string[], what = 'headers'): void {
    if (fields.length / 2 > this.maxHeadersCount) {
      throw new RpcError(431, 'RequestHeaderTooLarge', `the request has more than ${this.maxHeadersCount} ${what} (http_configuration.max_headers_count)`);
    }
    for (let i = 0; i < fields.length; i += 2) {
      const [name, value] = [fields[i]!, fields[i + 1]!];
      // Node decodes a head as latin1, one character per byte: a string's length is its size on the wire.
      const longest = Math.max(name.length, value.length);
      if (longest > this.maxHeaderBytes) {
        throw new RpcError(431, 'RequestHeaderTooLarge', `the header ${name.slice(0, 64)} has a name or value of ${longest} bytes, more than ${this.maxHeaderBytes} (http_configuration.max_header_size)`);
      }
    }
  }

  /** Refuses an endpoint this interface's accepted_endpoints do not name, as CCF's frontend does (503). */
  private checkAccepted(endpoint: string): void {
    const accepted = this.options.acceptedEndpoints;
    if (accepted === undefined || accepted.some((pattern) => pattern.test(endpoint))) return;
    throw new RpcError(503, 'EndpointNotAccepted', `${endpoint} is not served on interface ${this.options.interfaceName}: its accepted_endpoints match no such path; send the request to another interface of the node`);
  }

  private async dispatch(request: IncomingMessage, closedBefore: () => boolean, matched: (endpoint: string) => void, admitBody?: () => void): Promise<RpcResponse> {
    this.checkHeaders(request.rawHeaders);
    // As CCF's parser: a body declared too large is refused before any of it is read (a client
    // awaiting 100 Continue sends none), and every body is read, within its bounds, before the
    // request is routed, so that no body escapes them.
    if (Number(request.headers['content-length'] ?? 0) > this.options.maxBodyBytes) throw bodyTooLarge(this.options.maxBodyBytes);
    admitBody?.();
    const body = await readBody(request, this.options.maxBodyBytes);
    // CCF's parser counts the trailer fields after a chunked body as headers.
    if (request.rawTrailers.length > 0) this.checkHeaders([...request.rawHeaders, ...request.rawTrailers], 'headers and trailers');
    const target = request.url ?? '/';
    // The query only: URL would also resolve the path's dot segments (`/app/../gov/...`) and
    // backslashes, routing a request to another frontend than the one its path names.
    const url = new URL(target, 'https://node');
    const pathname = targetPath(target);
    const [, prefix, ...rest] = pathname.split('/');
    // As CCF's since 3.0, a path under neither /gov nor /node is the app's, with or without /app.
    const named = FRONTENDS.find((f) => f === prefix);
    const frontend = named ?? 'app';
    const closed = this.options.closedFrontends;
    if (closed?.frontends.includes(frontend)) throw new RpcError(404, 'FrontendNotOpen', `Frontend is not open: ${closed.reason}`);
    if (frontend === 'app') this.options.checkAppOpen?.();
    const path = named === undefined ? pathname : `/${rest.join('/')}`;
    const method = request.method ?? 'GET';
    const builtin = this.routes.get(frontend)!.match(method, path);
    const match = frontend === 'app' && builtin !== undefined && this.options.appDefines?.(method, path) === true ? undefined : builtin;
    const fallback = frontend === 'app' && match === undefined ? this.options.appFallback : undefined;
    if (match === undefined && fallback === undefined) throw unknownPath(pathname);
    if (match !== undefined && 'allowedMethods' in match) return methodsAllowed(method, pathname, match.allowedMethods, request.headers.upgrade);
    const endpointMatched = (endpoint: string) => {
      this.checkAccepted(endpoint);
      matched(endpoint);
    };
    if (match !== undefined) endpointMatched(`/${frontend}${match.route.path}`);
    const rpcRequest: RpcRequest = {
      frontend,
      method,
      path,
      pathname,
      params: match?.params ?? {},
      query: url.searchParams,
      rawQuery: url.search.slice(1),
      headers: requestHeaders(request.rawHeaders),
      body,
      clientCert: clientCertificate(request.socket as TLSSocket),
      matched: (route) => endpointMatched(`/${frontend}${route}`),
      session: this.sessionOf(request.socket),
    };
    await this.turns.next();
    if (closedBefore()) throw new CocoError('ConnectionClosing', 'an earlier request on this connection closes it');
    // Nobody is left to answer (the client left, or was cut off): the request is not run.
    if (request.socket.destroyed) throw new CocoError('RequestAborted', 'the client closed the connection before its request ran');
    try {
      const response = await (match?.route.handler ?? fallback!)(rpcRequest);
      // As CCF's JSON endpoints; only reads, which a refusal after the handler cannot undo anything of.
      if (match !== undefined && !match.route.ignoresAccept && (method === 'GET' || method === 'HEAD') && answersJson(response)) checkAcceptsJson(rpcRequest.headers.accept);
      return response;
    } catch (error) {
      throw this.redirection(error, rpcRequest) ?? error;
    }
  }

}

/**
 * The path of a request target, as sent: origin-form up to its query, or the path of an
 * absolute-form target (`https://host/path`), never normalized.
 */
function targetPath(target: string): string {
  const path = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0]!;
  return path === '' ? '/' : path;
}

/**
 * Where a redirected request goes: `origin` (`https://host:port`) with the request's path as it named
 * it and its query, never anything else of its target (an absolute-form target names another authority).
 */
export function redirectLocation(origin: string, request: Pick<RpcRequest, 'pathname' | 'rawQuery'>): string {
  return `${origin}${request.pathname}${request.rawQuery === '' ? '' : `?${request.rawQuery}`}`;
}

/** Whether llhttp takes `request` as asking to upgrade: an `Upgrade` header, and `upgrade` among the tokens of `Connection`. */
function asksToUpgrade(request: IncomingMessage): boolean {
  return request.headers.upgrade !== undefined && /(^|,)\s*upgrade\s*(,|$)/i.test(request.headers.connection ?? '');
}

/** A whole HTTP answer that closes the connection, for sockets Node's HTTP layer no longer answers on. */
function closingAnswer(status: string, contentType: string, code: string, body: Uint8Array): Uint8Array {
  const head = `HTTP/1.1 ${status}\r\ncontent-type: ${contentType}\r\n${ERROR_CODE_HEADER}: ${code}\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  return Buffer.concat([utf8(head), body]);
}

/** A closing answer with CCF's error body. */
function closingErrorAnswer(status: string, code: string, message: string): Uint8Array {
  return closingAnswer(status, 'application/json', code, utf8(errorBody(code, message)));
}

/**
 * CCF's answer to bytes that do not parse as an HTTP request: 400 in text, naming the parser's
 * error, then the fragment it failed on as it came (CCF's tests look for what they sent in it).
 */
function unparsableAnswer(error: NodeJS.ErrnoException & { reason?: string; rawPacket?: Buffer }): Uint8Array {
  const text = `Unable to parse data as a HTTP request. Error message is: HTTP parsing failed (${error.code ?? 'error'}: ${error.reason ?? error.message})\nError occurred while parsing fragment:\n`;
  return closingAnswer('400 Bad Request', 'text/plain', 'BadRequest', Buffer.concat([utf8(text), error.rawPacket ?? Buffer.alloc(0)]));
}

function send(response: ServerResponse, answer: RpcResponse): void {
  try {
    writeResponse(response, answer);
  } catch (error) {
    // Node refuses to write what HTTP cannot carry (a header with a line break): the client gets
    // a 500 rather than the node stopping on an uncaught error.
    logLine('error', `coco node: could not write a response: ${describeFailure(error)}`);
    if (response.headersSent) return void response.destroy();
    writeResponse(response, { status: 500, headers: { [ERROR_CODE_HEADER]: 'InternalError' }, body: JSON.parse(errorBody('InternalError', 'the response could not be written as HTTP')) });
  }
}

/** Headers only the node sets: the message's framing, and the transaction the answer names. */
const NODE_OWNED_HEADERS = ['content-length', 'transfer-encoding', 'x-ms-ccf-transaction-id'];

/** The content type a body is sent with unless its handler names one (see RpcResponse.body); none without a body. */
function defaultContentType(body: unknown): string | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return 'text/plain';
  return body instanceof Uint8Array || body instanceof FileBody ? 'application/octet-stream' : 'application/json';
}

/** Whether writeResponse sends `response` as JSON: a success with a body of its own choosing. */
function answersJson(response: RpcResponse): boolean {
  const status = response.status ?? 200;
  return status >= 200 && status < 300 && !NO_BODY_STATUSES.has(status) && response.headers?.['content-type'] === undefined && defaultContentType(response.body) === 'application/json';
}

/** Statuses whose responses carry no body (RFC 9110 §15.3.5, §15.4.5). */
const NO_BODY_STATUSES = new Set([204, 304]);

function writeResponse(response: ServerResponse, result: RpcResponse): void {
  const status = result.status ?? 200;
  const contentType = NO_BODY_STATUSES.has(status) ? undefined : defaultContentType(result.body);
  let body: Uint8Array | FileBody;
  if (contentType === undefined) body = new Uint8Array();
  else if (typeof result.body === 'string') body = utf8(result.body);
  else if (result.body instanceof Uint8Array || result.body instanceof FileBody) body = result.body;
  else body = utf8(JSON.stringify(result.body));
  const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
  // An app's headers come after the defaults (its content type wins) but cannot reframe the
  // message or name another transaction than the one its call was.
  Object.assign(headers, result.headers);
  for (const name of NODE_OWNED_HEADERS) delete headers[name];
  if (result.txId !== undefined && result.txId !== null) headers['x-ms-ccf-transaction-id'] = formatTxId(result.txId);
  if (!NO_BODY_STATUSES.has(status)) headers['content-length'] = String(result.contentLength ?? body.length);
  response.writeHead(status, headers);
  if (body instanceof FileBody) void body.endInto(response);
  else endInPieces(response, body);
}

/** A connection's requests not yet answered and read, the bytes of their answers written, and the requests read past the limit, waiting to run. */
interface Backlog {
  requests: number;
  bytes: number;
  waiting: (() => void)[];
  /** What closes the connection once no answer is owed (a later request could not be parsed). */
  afterLastAnswer?: () => void;
  /** Requests counted above that will never be answered (the one whose body failed to parse). */
  unanswerable?: number;
}

/** The certificate of a TLS connection, worked out once per connection: keep-alive clients send many requests. */
const connectionCertificates = new WeakMap<TLSSocket, ClientCertificate | null>();

function clientCertificate(socket: TLSSocket): ClientCertificate | undefined {
  let cert = connectionCertificates.get(socket);
  if (cert === undefined) {
    const peer = socket.getPeerCertificate?.();
    if (peer?.raw) {
      const der = new Uint8Array(peer.raw);
      const id = peer.fingerprint256.replace(/:/g, '').toLowerCase();
      cert = { der, pem: derToPem(der, 'CERTIFICATE'), id, idKey: utf8(id) };
    } else {
      cert = null;
    }
    connectionCertificates.set(socket, cert);
  }
  return cert ?? undefined;
}

/** A failure as a log shows it: an error with its stack. */
function describeFailure(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function bodyTooLarge(maxBytes: number): RpcError {
  return new RpcError(413, 'RequestBodyTooLarge', `the request body exceeds this node's limit of ${maxBytes} bytes (http.max_body_size or the interface's http_configuration.max_body_size in its configuration)`);
}

function bodyTooFragmented(pieces: number, bytes: number): RpcError {
  return new RpcError(
    400,
    'RequestBodyTooFragmented',
    `the request body came in ${pieces} pieces (chunks of Transfer-Encoding: chunked, or TLS records) for ${bytes} bytes; a body may come in ${BODY_PIECES_FREE} pieces and one more per ${BODY_BYTES_PER_PIECE_MIN} bytes: send it in chunks of a few KiB, or with Content-Length`,
  );
}

/**
 * Reads the body, refusing it (and reading no more of it) once it passes `maxBytes`, as CCF's
 * parser does, or comes in too many pieces (BODY_PIECES_FREE).
 */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let pieces = 0;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      outcome();
    };
    const refuse = (error: RpcError) => {
      request.off('data', read);
      settle(() => reject(error));
    };
    function read(chunk: Buffer): void {
      size += chunk.length;
      pieces += 1;
      if (size > maxBytes) return refuse(bodyTooLarge(maxBytes));
      if (pieces > BODY_PIECES_FREE + size / BODY_BYTES_PER_PIECE_MIN) return refuse(bodyTooFragmented(pieces, size));
      chunks.push(chunk);
    }
    request.on('data', read);
    // Every request ends with 'close', after 'end' for a whole one: an error is built (with its
    // stack, which cost ~3 % of a loaded node) only for a body that did not end.
    const aborted = () => reject(new CocoError('RequestAborted', 'the client closed the connection before sending the whole request body'));
    request.on('end', () => settle(() => resolve(new Uint8Array(Buffer.concat(chunks)))));
    request.on('error', () => settle(aborted));
    request.on('close', () => settle(aborted));
  });
}
