// Authenticated transport between nodes: TLS 1.3 both ways, with node certificates endorsed by the
// service identity. A node sends on the connections it dials (one per peer, redialled with backoff)
// and receives on those it accepts. To a node it has no address for (one its lagging state does not
// know, such as a primary elected while it was down, which dialled it), it answers on that node's
// connection, which the dialler reads. Either way every frame is delivered with the node ID of the
// certificate that authenticated its connection, never an ID claimed inside the payload.

import { X509Certificate, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { publicKeyId } from '../crypto/entity-id.js';
import { TLS_POLICY } from '../crypto/tls-policy.js';
import { CocoError } from '../errors.js';
import { HandshakePacer } from '../node/handshake-pacer.js';
import { connectionKey } from '../node/connection-key.js';
import { hostAndPort } from '../node/node-config.js';
import {
  AUTHENTICATED_INBOUND_CONNECTIONS_MAX,
  DIAL_TIMEOUT_MS,
  DUPLICATE_CONNECTION_WINDOW_MS,
  FAILURE_LOG_INTERVAL_MS,
  FAILURE_LOG_KEYS_MAX,
  FRAME_PAYLOAD_BYTES_MAX,
  INBOUND_HANDSHAKE_TIMEOUT_MS,
  KEEPALIVE_DELAY_MS,
  PEER_QUEUE_BYTES_MAX,
  RECONNECT_DELAY_MAX_MS,
  RECONNECT_DELAY_MIN_MS,
  SOCKET_WRITABLE_BYTES_MAX,
  UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX,
} from './channel-limits.js';
import { FailureLog } from '../node/failure-log.js';
import { NodeListener } from './node-listener.js';
import { encodeFrameHeader, FrameReader } from './frame.js';
import { SendQueue } from './send-queue.js';

export interface NodeChannelsOptions {
  selfId: string;
  /** This node's private key. */
  keyPem: string;
  /** This node's certificate, endorsed by the service. */
  certPem: string;
  /** The only CA trusted for node certificates. */
  serviceCertPem: string;
  /** Where to listen (port 0: any free port), unless `listener` is given. */
  host: string;
  port: number;
  /** The node-to-node port bound already (a joiner binds it before it joins); the channels own it from now on. */
  listener?: NodeListener;
  /** Whether a peer (by node ID) may talk to us now; checked on connect and for each frame. */
  authorize(peerId: string): boolean;
  /**
   * A frame from an authenticated, authorized peer; `payload` may be a view of the receive buffer,
   * so copy what is kept. Throwing a CocoError rejects the frame as malformed: the connection is
   * closed and the error logged (any other error is a bug and propagates).
   */
  onFrame(from: string, kind: number, payload: Uint8Array): void;
  /** Optional diagnostics sink (connects, disconnects, refusals); 'warn' for what an operator must act on. */
  log?(message: string, level?: 'info' | 'warn'): void;
  /** A shorter one for tests (default INBOUND_HANDSHAKE_TIMEOUT_MS). */
  inboundHandshakeTimeoutMs?: number;
}

/** An outbound channel: the connection this node dials to a peer and sends on. */
interface Peer {
  readonly id: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  socket: tls.TLSSocket | null;
  /** The handshake completed and the server proved the expected node ID: frames are written directly. */
  ready: boolean;
  /** Writes of the current tick are corked into one batch. */
  corked: boolean;
  readonly queue: SendQueue;
  reconnectDelayMs: number;
  reconnectTimer: NodeJS.Timeout | null;
  readyAtMs: number;
}

/** An accepted connection that has not authenticated yet, and the timer that closes it if it does not in time. */
interface Unauthenticated {
  readonly socket: Socket;
  readonly deadline: NodeJS.Timeout;
}

export class NodeChannels {
  private readonly options: NodeChannelsOptions;
  /** TLS over the connections the listener accepts; it listens on no port itself. */
  private readonly server: tls.Server;
  private listener: NodeListener | null;
  /** Hands the accepted connections to `server`, a bounded number of handshakes at a time. */
  private readonly handshakes: HandshakePacer;
  /** Parsed once per certificate (the node's, or one renewed): every dial presents it and trusts the same CA. */
  private clientContext: tls.SecureContext;
  /** The service's public key, which endorses every node certificate. */
  private readonly serviceKey: KeyObject;
  private readonly peers = new Map<string, Peer>();
  /** Every accepted TCP connection, in the handshake or not, so that close() can end them all. */
  private readonly accepted = new Set<Socket>();
  /** Accepted connections not yet authenticated, oldest first, by connectionKey. */
  private readonly unauthenticated = new Map<string, Unauthenticated>();
  /** The authenticated inbound connection of each peer; a newer one replaces an older one. */
  private readonly inbound = new Map<string, tls.TLSSocket>();
  /** Dials failing in a row, by peer ID. */
  private readonly dialFailures: FailureLog;
  /** Inbound refusals, by source and reason. */
  private readonly refusals: FailureLog;
  /** When each peer's inbound connection last replaced an open one (see DUPLICATE_CONNECTION_WINDOW_MS). */
  private readonly replacedAtMs = new Map<string, number>();
  /** Peers replacing open connections again and again, by peer ID. */
  private readonly duplicates: FailureLog;
  private readonly inboundHandshakeTimeoutMs: number;
  private closed = false;

  constructor(options: NodeChannelsOptions) {
    if (publicKeyId(options.certPem) !== options.selfId) {
      throw new CocoError('InvalidArgument', `the node certificate's public key is not that of node ${options.selfId}; pass this node's own certificate`);
    }
    this.options = options;
    this.listener = options.listener ?? null;
    this.inboundHandshakeTimeoutMs = options.inboundHandshakeTimeoutMs ?? INBOUND_HANDSHAKE_TIMEOUT_MS;
    this.dialFailures = new FailureLog(FAILURE_LOG_INTERVAL_MS, FAILURE_LOG_KEYS_MAX);
    this.refusals = new FailureLog(FAILURE_LOG_INTERVAL_MS, FAILURE_LOG_KEYS_MAX);
    this.duplicates = new FailureLog(FAILURE_LOG_INTERVAL_MS, FAILURE_LOG_KEYS_MAX);
    this.serviceKey = new X509Certificate(options.serviceCertPem).publicKey;
    this.clientContext = tls.createSecureContext(this.secureContextOptions(options.certPem));
    // Peers are checked by endorsement (see endorsedPeerId), not by OpenSSL's chain check, which also
    // refuses certificates past their validity: nodes keep talking once theirs expire, as in CCF.
    this.server = tls.createServer(
      {
        ...this.secureContextOptions(options.certPem),
        requestCert: true,
        rejectUnauthorized: false,
      },
      (socket) => this.accept(socket),
    );
    // No server.maxConnections: refusing newcomers at a cap is what let held connections keep peers
    // out. admit() bounds the unauthenticated connections (those waiting for their handshake
    // included), accept() the authenticated ones.
    this.handshakes = new HandshakePacer(this.server, this.inboundHandshakeTimeoutMs);
    this.server.on('tlsClientError', (error: Error, socket: tls.TLSSocket) => {
      // In TLS 1.3 a refused client certificate often surfaces as a reset, not as the verify error.
      // OpenSSL's own message is a line of internals ending in a newline; its reason says it ("unsupported protocol").
      const { reason, code } = error as Error & { reason?: string; code?: string };
      this.refused(socket.remoteAddress, `the TLS handshake failed: ${reason === undefined ? error.message.trim() : `${reason}${code === undefined ? '' : ` (${code})`}`}`);
    });
  }

  /** Takes the connections of the listener given, or of one bound now on host:port. */
  async listen(): Promise<{ port: number }> {
    const listener = this.listener ?? (await NodeListener.bind(this.options.host, this.options.port));
    this.listener = listener;
    if (this.closed) {
      await listener.close();
      throw new CocoError('ChannelListenFailed', 'the node-to-node channels closed before they listened');
    }
    listener.accept((socket) => {
      this.admit(socket);
      if (!socket.destroyed) this.handshakes.add(socket);
    }, (message) => this.log(message));
    return { port: listener.port };
  }

  /** The peers to keep outbound connections to (node ID -> "host:port"); others are dropped. */
  setPeers(peers: ReadonlyMap<string, string>): void {
    if (this.closed) return;
    const wanted = new Map<string, { address: string; host: string; port: number }>();
    for (const [id, address] of peers) {
      if (id !== this.options.selfId) wanted.set(id, { address, ...parseAddress(id, address) });
    }
    for (const [id, peer] of this.peers) {
      if (wanted.get(id)?.address !== peer.address) this.dropPeer(peer);
    }
    for (const [id, { address, host, port }] of wanted) {
      if (this.peers.has(id)) continue;
      const peer: Peer = {
        id,
        address,
        host,
        port,
        socket: null,
        ready: false,
        corked: false,
        queue: new SendQueue(PEER_QUEUE_BYTES_MAX),
        reconnectDelayMs: RECONNECT_DELAY_MIN_MS,
        reconnectTimer: null,
        readyAtMs: 0,
      };
      this.peers.set(id, peer);
      this.dial(peer);
    }
  }

  /** How many peers this node's outbound channel is open to. */
  get connectedPeers(): number {
    let connected = 0;
    for (const peer of this.peers.values()) if (peer.ready) connected++;
    return connected;
  }

  /** Whether the channel to `peer` is open now: a frame sent now leaves at once. */
  isConnected(peer: string): boolean {
    return this.peers.get(peer)?.ready === true;
  }

  /** Best effort, in order per peer; false when dropped (unknown peer, buffer full). */
  send(to: string, kind: number, payload: Uint8Array): boolean {
    if (this.closed || payload.length > FRAME_PAYLOAD_BYTES_MAX) return false;
    const peer = this.peers.get(to);
    if (peer === undefined) return this.answer(to, kind, payload);
    const socket = peer.socket;
    // A connection that is failing keeps the frame for the next one.
    if (!peer.ready || socket === null || !socket.writable) return peer.queue.push(kind, payload);
    if (socket.writableLength > SOCKET_WRITABLE_BYTES_MAX) return false;
    this.write(peer, socket, kind, payload);
    return true;
  }

  /** A frame for a node this node does not dial, on the connection that node dialled (if it is open and not backed up). */
  private answer(to: string, kind: number, payload: Uint8Array): boolean {
    const socket = this.inbound.get(to);
    if (socket === undefined || !socket.writable || socket.writableLength > SOCKET_WRITABLE_BYTES_MAX) return false;
    socket.write(Buffer.concat([encodeFrameHeader(kind, payload.length), payload]));
    return true;
  }

  /** Presents `certPem` (this node's key, renewed) on the connections made or accepted from now. */
  setCertificate(certPem: string): void {
    if (publicKeyId(certPem) !== this.options.selfId) throw new CocoError('InvalidArgument', `the certificate's public key is not that of node ${this.options.selfId}`);
    this.clientContext = tls.createSecureContext(this.secureContextOptions(certPem));
    this.server.setSecureContext(this.secureContextOptions(certPem));
  }

  /** What TLS needs, dialling or accepting, to present `certPem`: this node's key, the service's certificate, the TLS policy. */
  private secureContextOptions(certPem: string) {
    return { key: this.options.keyPem, cert: certPem, ca: [this.options.serviceCertPem], minVersion: 'TLSv1.3' as const, ...TLS_POLICY };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) this.dropPeer(peer);
    for (const { deadline } of this.unauthenticated.values()) clearTimeout(deadline);
    this.unauthenticated.clear();
    this.handshakes.close();
    for (const socket of this.accepted) socket.destroy();
    await this.listener?.close();
  }

  private log(message: string, level: 'info' | 'warn' = 'info'): void {
    this.options.log?.(message, level);
  }

  /**
   * Logs a peer's new inbound connection replacing its open one: news the first time, a warning
   * (throttled) when it happens again within DUPLICATE_CONNECTION_WINDOW_MS, which is what two
   * processes running one node identity do.
   */
  private replaced(peerId: string, previous: tls.TLSSocket, socket: tls.TLSSocket): void {
    const nowMs = performance.now();
    const lastMs = this.replacedAtMs.get(peerId);
    this.replacedAtMs.delete(peerId);
    if (this.replacedAtMs.size >= FAILURE_LOG_KEYS_MAX) this.replacedAtMs.delete(this.replacedAtMs.keys().next().value as string);
    this.replacedAtMs.set(peerId, nowMs);
    if (lastMs === undefined || nowMs - lastMs > DUPLICATE_CONNECTION_WINDOW_MS) {
      this.duplicates.clear(peerId);
      this.log(`node ${peerId} connected again; closing its previous inbound connection`);
      return;
    }
    const count = this.duplicates.record(peerId, 'replaced');
    if (count === undefined) return;
    const suppressed = count.suppressed === 0 ? '' : ` (${count.suppressed} more times since the last such line)`;
    this.log(
      `node ${peerId} connected again from ${previous.remoteAddress}:${previous.remotePort} then ${socket.remoteAddress}:${socket.remotePort} while its previous connection was open, ` +
        `twice within ${DUPLICATE_CONNECTION_WINDOW_MS / 1000} s${suppressed}: two processes may be running with this node's identity (a copied node directory?); stop all but one of them`,
      'warn',
    );
  }

  /** Logs a refused inbound connection, throttled per source and reason (a flood of bad connections must not flood the log). */
  private refused(source: string | undefined, reason: string): void {
    const from = source ?? 'an unknown address';
    const count = this.refusals.record(`${from} ${reason}`, reason);
    if (count === undefined) return;
    const suppressed = count.suppressed === 0 ? '' : ` (and ${count.suppressed} more like it since the last such line)`;
    this.log(`refused an inbound connection from ${from}: ${reason}${suppressed}`);
  }

  /**
   * A new TCP connection: it has the inbound handshake timeout to authenticate (a deadline, unlike
   * TLS's handshakeTimeout, which bytes trickled in push back). At the cap, the oldest connection
   * not authenticated is closed rather than this one refused, so that however many connections an
   * attacker holds, a peer connecting now still gets its handshake.
   */
  private admit(socket: Socket): void {
    this.accepted.add(socket);
    socket.on('close', () => this.accepted.delete(socket));
    const key = connectionKey(socket);
    // Reset before it was accepted: nothing to admit.
    if (key === undefined) {
      socket.destroy();
      return;
    }
    if (this.unauthenticated.size >= UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX) {
      const [oldestKey, oldest] = this.evictionCandidate();
      this.handshakeOver(oldestKey);
      this.refused(oldest.socket.remoteAddress, `closed in the TLS handshake to make room: ${UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX} connections were not authenticated`);
      oldest.socket.destroy();
    }
    // One with the same two ends still listed is gone already (its close event is on its way).
    this.handshakeOver(key);
    const deadline = setTimeout(() => {
      this.handshakeOver(key);
      this.refused(socket.remoteAddress, `not authenticated within ${this.inboundHandshakeTimeoutMs} ms`);
      socket.destroy();
    }, this.inboundHandshakeTimeoutMs);
    this.unauthenticated.set(key, { socket, deadline });
    socket.on('close', () => {
      if (this.unauthenticated.get(key)?.socket === socket) this.handshakeOver(key);
    });
  }

  /**
   * The connection to close for room: the oldest of the address holding the most unauthenticated
   * ones, so that one address flooding the port closes its own connections, not a peer's handshake
   * from elsewhere.
   */
  private evictionCandidate(): [string, Unauthenticated] {
    const held = new Map<string | undefined, number>();
    for (const { socket } of this.unauthenticated.values()) held.set(socket.remoteAddress, (held.get(socket.remoteAddress) ?? 0) + 1);
    let most: string | undefined;
    let mostHeld = 0;
    for (const [address, count] of held) {
      if (count > mostHeld) [most, mostHeld] = [address, count];
    }
    // Oldest first: the first of that address. There is one, since the counts came from these entries.
    return [...this.unauthenticated].find(([, { socket }]) => socket.remoteAddress === most)!;
  }

  /** Takes a connection off the unauthenticated list: it authenticated, or is closed or about to be. */
  private handshakeOver(key: string): void {
    const entry = this.unauthenticated.get(key);
    if (entry === undefined) return;
    clearTimeout(entry.deadline);
    this.unauthenticated.delete(key);
  }

  /**
   * The node ID of a peer's certificate when the service endorsed it (whatever its validity period:
   * CCF's channels ignore it too, so that a network outliving its certificates can still restart and
   * renew them); undefined otherwise. TLS itself proved the peer holds the certificate's key.
   */
  private endorsedPeerId(socket: tls.TLSSocket): string | undefined {
    const raw = socket.getPeerCertificate().raw as Buffer | undefined;
    if (raw === undefined) return undefined;
    try {
      return new X509Certificate(raw).verify(this.serviceKey) ? publicKeyId(raw) : undefined;
    } catch {
      return undefined;
    }
  }

  private accept(socket: tls.TLSSocket): void {
    // Refused or accepted below, it leaves the unauthenticated ones either way.
    const key = connectionKey(socket);
    if (key !== undefined) this.handshakeOver(key);
    const peerId = this.endorsedPeerId(socket);
    if (peerId === undefined) {
      this.refused(socket.remoteAddress, `its certificate is not endorsed by this service (${socket.authorizationError ?? 'no certificate'})`);
      socket.destroy();
      return;
    }
    if (!this.options.authorize(peerId)) {
      this.refused(`node ${peerId}`, 'not authorized');
      socket.destroy();
      return;
    }
    const previous = this.inbound.get(peerId);
    if (previous === undefined && this.inbound.size >= AUTHENTICATED_INBOUND_CONNECTIONS_MAX) {
      this.refused(`node ${peerId}`, `${AUTHENTICATED_INBOUND_CONNECTIONS_MAX} other nodes are connected`);
      socket.destroy();
      return;
    }
    if (previous !== undefined) {
      this.replaced(peerId, previous, socket);
      previous.destroy();
    }
    this.inbound.set(peerId, socket);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    const reader = new FrameReader(FRAME_PAYLOAD_BYTES_MAX);
    socket.on('data', (chunk: Buffer) => this.receive(peerId, socket, reader, chunk));
    socket.on('error', (error) => {
      this.log(`inbound connection from node ${peerId} failed: ${error.message}`);
      // A TLS record error (a corrupted or forged record) leaves the socket open, silent for good.
      socket.destroy();
    });
    socket.on('close', () => {
      if (this.inbound.get(peerId) === socket) this.inbound.delete(peerId);
      this.log(`inbound connection from node ${peerId} closed`);
    });
    this.log(`node ${peerId} connected`);
  }

  private receive(peerId: string, socket: tls.TLSSocket, reader: FrameReader, chunk: Uint8Array): void {
    try {
      reader.push(chunk);
      for (let frame = reader.next(); frame !== undefined && !socket.destroyed; frame = reader.next()) {
        if (!this.options.authorize(peerId)) {
          this.log(`dropped the connection from node ${peerId}: no longer authorized`);
          socket.destroy();
          return;
        }
        this.options.onFrame(peerId, frame.kind, frame.payload);
      }
    } catch (error) {
      socket.destroy();
      // A bug (not a malformed frame) must surface, not pass as a peer's fault.
      if (!(error instanceof CocoError) || error.code === 'InternalError') throw error;
      this.log(`closed the connection from node ${peerId}: ${error.message}`);
    }
  }

  private dial(peer: Peer): void {
    peer.reconnectTimer = null;
    const socket = tls.connect({
      host: peer.host,
      port: peer.port,
      secureContext: this.clientContext,
      // Checked once connected (endorsedPeerId): node certificates name IP addresses that need not
      // match the address dialled (the key is the identity), and may be past their validity.
      rejectUnauthorized: false,
      checkServerIdentity: () => undefined,
    });
    peer.socket = socket;
    peer.corked = false;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    socket.setTimeout(DIAL_TIMEOUT_MS, () => socket.destroy(new CocoError('ChannelTimeout', `no TLS handshake with node ${peer.id} at ${peer.address} within ${DIAL_TIMEOUT_MS} ms`)));
    // Read from the start, which keeps 'end' and 'close' flowing; frames are taken once the server proved its identity.
    socket.resume();
    socket.on('secureConnect', () => {
      const serverId = this.endorsedPeerId(socket);
      if (serverId !== peer.id) {
        const what = serverId === undefined ? `not endorsed by this service (${socket.authorizationError ?? 'no certificate'})` : `node ${serverId}`;
        socket.destroy(new CocoError('UnexpectedNodeIdentity', `the server at ${peer.address} is ${what}, not node ${peer.id}`));
        return;
      }
      socket.setTimeout(0);
      // A peer that has no address for this node answers on this connection.
      const reader = new FrameReader(FRAME_PAYLOAD_BYTES_MAX);
      socket.on('data', (chunk: Buffer) => this.receive(peer.id, socket, reader, chunk));
      peer.ready = true;
      peer.readyAtMs = performance.now();
      const attempts = this.dialFailures.clear(peer.id);
      this.log(`connected to node ${peer.id} at ${peer.address}${attempts === 0 ? '' : ` after ${attempts} failed attempt${attempts === 1 ? '' : 's'}`}`);
      peer.queue.drain((kind, payload) => this.write(peer, socket, kind, payload));
    });
    socket.on('error', (error) => {
      this.connectionFailed(peer, error.message);
      // Not every error closes a TLS socket (a corrupted record does not): only 'close' redials.
      socket.destroy();
    });
    socket.on('close', () => this.disconnected(peer, socket));
  }

  private connectionFailed(peer: Peer, reason: string): void {
    const count = this.dialFailures.record(peer.id, reason);
    if (count === undefined) return;
    if (count.attempts === 1) this.log(`connection to node ${peer.id} at ${peer.address} failed: ${reason}`);
    else this.log(`connection to node ${peer.id} at ${peer.address} still failing after ${count.attempts} attempts: ${reason}`);
  }

  private disconnected(peer: Peer, socket: tls.TLSSocket): void {
    if (peer.socket !== socket) return;
    const wasReady = peer.ready;
    peer.socket = null;
    peer.ready = false;
    if (this.closed || this.peers.get(peer.id) !== peer) return;
    if (wasReady) this.log(`disconnected from node ${peer.id}`);
    // A connection that lasted resets the backoff; each one dropped at once (e.g. refused) doubles it.
    if (wasReady && performance.now() - peer.readyAtMs >= RECONNECT_DELAY_MAX_MS) peer.reconnectDelayMs = RECONNECT_DELAY_MIN_MS;
    // Jitter spreads the redials of nodes that lost a peer at the same moment.
    const delayMs = peer.reconnectDelayMs * (0.5 + Math.random() / 2);
    peer.reconnectDelayMs = Math.min(peer.reconnectDelayMs * 2, RECONNECT_DELAY_MAX_MS);
    peer.reconnectTimer = setTimeout(() => this.dial(peer), delayMs);
  }

  private dropPeer(peer: Peer): void {
    this.peers.delete(peer.id);
    this.dialFailures.clear(peer.id);
    if (peer.reconnectTimer !== null) clearTimeout(peer.reconnectTimer);
    peer.reconnectTimer = null;
    peer.queue.clear();
    peer.socket?.destroy();
  }

  private write(peer: Peer, socket: tls.TLSSocket, kind: number, payload: Uint8Array): void {
    if (!peer.corked) {
      peer.corked = true;
      socket.cork();
      process.nextTick(uncork, peer, socket);
    }
    socket.write(encodeFrameHeader(kind, payload.length));
    socket.write(payload);
  }
}

function uncork(peer: Peer, socket: tls.TLSSocket): void {
  if (peer.socket === socket) peer.corked = false;
  socket.uncork();
}

function parseAddress(id: string, address: string): { host: string; port: number } {
  const parsed = hostAndPort(address);
  if (parsed === undefined || parsed.host === '' || parsed.port < 1) {
    throw new CocoError('InvalidArgument', `the address of node ${id} is ${JSON.stringify(address)}, not "host:port"`);
  }
  return parsed;
}
