// Bounds the TLS handshakes a server runs at once. A server handshake costs a key exchange and a
// signature on the event loop (~2 ms with P-384), run when the client's hello arrives: a thousand
// connections arriving together ran a thousand in one poll phase, 1.6-2.4 s without a timer, past the
// election timeout, and the backups elected another primary. Connections are accepted paused and
// handed to TLS only while fewer than HANDSHAKES_IN_PROGRESS_MAX handshakes are under way, so a poll
// phase runs at most that many and timers run between them.
// A connection waits for a place only once its client's hello has wholly arrived (tls-first-record.ts):
// before that it costs no work, so connections that send nothing, or half a hello, keep nobody out
// however many there are and however fast they reconnect; they are closed after the handshake timeout.
// They still count against the caller's caps (session caps, unauthenticated connections), as idle
// sessions count against CCF's.
// Places go in turn to the clients' addresses, oldest first within an address. Newest first let an
// address's new connections overtake a waiting client for as long as they kept coming; oldest first
// alone let a burst delay every connection behind it by the whole burst. In turns, a burst delays a
// connection from another address by a handshake per address waiting, and one address's connections
// only wait behind its own.

import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { connectionKey } from './connection-key.js';
import { awaitFirstRecord } from './tls-first-record.js';

/** Handshakes under way at once: ~40 ms of signatures at most in one poll phase. */
export const HANDSHAKES_IN_PROGRESS_MAX = 16;
/**
 * A handshake under way for longer than this gives its place to a connection waiting: handshakes take
 * a few round trips, milliseconds, and connections that stall theirs must not keep everyone out.
 */
export const HANDSHAKE_PLACE_HELD_MS = 1_000;

/**
 * Why the pacer closed a connection: its client sent no whole TLS hello in time, it waited too long for
 * a place, or it held one too long while others waited.
 */
export type PacerClosure = 'no-hello' | 'waited' | 'held';

export interface HandshakePacerOptions {
  /** Handshakes under way at once (HANDSHAKES_IN_PROGRESS_MAX by default). */
  inProgressMax?: number;
  /** Told of each connection the pacer closes, for the server's log: its client only sees a reset. */
  onClose?: (socket: Socket, why: PacerClosure) => void;
}

interface Waiting {
  readonly socket: Socket;
  readonly queuedMs: number;
}

interface InProgress {
  readonly socket: Socket;
  readonly startedMs: number;
}

/** While the pacer holds a connection, it reads it (for the hello): a reset is an error event, and the connection's close is handled. */
function ignoreError(): void {}

export class HandshakePacer {
  readonly #server: TlsServer;
  readonly #inProgressMax: number;
  readonly #waitMs: number;
  readonly #onClose: HandshakePacerOptions['onClose'];
  /** Connections whose client's hello has not wholly arrived, and how to stop waiting for it. */
  readonly #arriving = new Map<Socket, () => void>();
  /**
   * Connections whose hello arrived, waiting for a place: per client address, oldest first, and the
   * addresses in the order of their turns (none with no connection waiting). Bounded by the
   * caller's admission (session caps, unauthenticated connections).
   */
  readonly #waiting = new Map<string, Waiting[]>();
  #waitingCount = 0;
  /** Handshakes under way, oldest first, by the connection's two ends. */
  readonly #inProgress = new Map<string, InProgress>();
  #scheduled = false;
  /** When connections wait for a place: the time the oldest handshake has held its own too long. */
  #makeRoomTimer: NodeJS.Timeout | null = null;

  /**
   * Hands the connections added to `server` (a TLS server listening on no port itself) as its
   * 'connection's. One whose client sends no whole hello within `waitMs`, or that then waits longer
   * than `waitMs` for its turn, is closed.
   */
  constructor(server: TlsServer, waitMs: number, { inProgressMax = HANDSHAKES_IN_PROGRESS_MAX, onClose }: HandshakePacerOptions = {}) {
    this.#server = server;
    this.#waitMs = waitMs;
    this.#inProgressMax = inProgressMax;
    this.#onClose = onClose;
    server.on('secureConnection', (socket: TLSSocket) => this.#finished(connectionKey(socket)));
  }

  /** Takes a connection accepted paused: once its client's hello has arrived, it starts its handshake when its turn comes. */
  add(socket: Socket): void {
    if (socket.destroyed) return;
    socket.on('error', ignoreError);
    const stop = awaitFirstRecord(socket, this.#waitMs, (outcome) => {
      this.#arriving.delete(socket);
      if (outcome === 'arrived') this.#queue(socket);
      else if (outcome === 'timed-out') this.#closeFor(socket, 'no-hello');
      else socket.destroy();
    });
    this.#arriving.set(socket, stop);
  }

  /** Closes the connections not yet handed to TLS. */
  close(): void {
    for (const [socket, stop] of this.#arriving) {
      stop();
      socket.destroy();
    }
    this.#arriving.clear();
    for (const queue of this.#waiting.values()) for (const { socket } of queue) socket.destroy();
    this.#waiting.clear();
    this.#waitingCount = 0;
    if (this.#makeRoomTimer !== null) clearTimeout(this.#makeRoomTimer);
    this.#makeRoomTimer = null;
  }

  #queue(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    const queue = this.#waiting.get(address);
    const entry = { socket, queuedMs: performance.now() };
    if (queue === undefined) this.#waiting.set(address, [entry]);
    else queue.push(entry);
    this.#waitingCount++;
    this.#schedule();
  }

  /** The next connection to take a place: the oldest of the address whose turn it is, which then goes to the back of the turns. */
  #takeNext(): Socket | undefined {
    const next = this.#waiting.entries().next();
    if (next.done === true) return undefined;
    const [address, queue] = next.value;
    const { socket } = queue.shift()!;
    this.#waiting.delete(address);
    if (queue.length > 0) this.#waiting.set(address, queue);
    this.#waitingCount--;
    return socket;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A turn later: the handshakes started now run in the next poll phase, after the timers.
    setImmediate(() => this.#release());
  }

  #release(): void {
    this.#scheduled = false;
    this.#makeRoom();
    while (this.#inProgress.size < this.#inProgressMax) {
      const socket = this.#takeNext();
      if (socket === undefined) break;
      const key = connectionKey(socket);
      // Closed while it waited (evicted, refused, reset, or the server closing): nothing to start.
      if (socket.destroyed || key === undefined) {
        socket.destroy();
        continue;
      }
      this.#inProgress.set(key, { socket, startedMs: performance.now() });
      socket.once('close', () => this.#finished(key, socket));
      // TLS takes the socket's errors from here, and reads the hello from its buffer first.
      socket.off('error', ignoreError);
      this.#server.emit('connection', socket);
    }
    if (this.#waitingCount > 0 && this.#makeRoomTimer === null) {
      const [oldest] = this.#inProgress.values();
      const heldMs = performance.now() - oldest!.startedMs;
      this.#makeRoomTimer = setTimeout(() => {
        this.#makeRoomTimer = null;
        this.#schedule();
      }, Math.max(0, HANDSHAKE_PLACE_HELD_MS - heldMs));
    }
  }

  /**
   * Closes the connections that waited too long, and the handshakes that held their place too long
   * while others wait; forgets those closed while they waited, which wait for nothing.
   */
  #makeRoom(): void {
    const nowMs = performance.now();
    for (const [address, queue] of this.#waiting) {
      const kept: Waiting[] = [];
      for (const entry of queue) {
        if (entry.socket.destroyed) continue;
        if (nowMs - entry.queuedMs >= this.#waitMs) this.#closeFor(entry.socket, 'waited');
        else kept.push(entry);
      }
      this.#waitingCount -= queue.length - kept.length;
      // Setting an address already there keeps its turn.
      if (kept.length === 0) this.#waiting.delete(address);
      else this.#waiting.set(address, kept);
    }
    if (this.#waitingCount === 0) return;
    for (const { socket, startedMs } of this.#inProgress.values()) {
      if (nowMs - startedMs < HANDSHAKE_PLACE_HELD_MS) break;
      this.#closeFor(socket, 'held');
    }
  }

  #closeFor(socket: Socket, why: PacerClosure): void {
    if (!socket.destroyed) this.#onClose?.(socket, why);
    socket.destroy();
  }

  #finished(key: string | undefined, socket?: Socket): void {
    if (key === undefined) return;
    const entry = this.#inProgress.get(key);
    // Another connection with the same two ends (this one closed after it finished) keeps its place.
    if (entry === undefined || (socket !== undefined && entry.socket !== socket)) return;
    this.#inProgress.delete(key);
    if (this.#waitingCount > 0) this.#schedule();
  }
}
