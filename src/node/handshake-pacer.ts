// Bounds the TLS handshakes a server runs at once. A server handshake costs a key exchange and a
// signature on the event loop (~2 ms with P-384), run when the client's hello arrives: a thousand
// connections arriving together ran a thousand in one poll phase, 1.6-2.4 s without a timer, past the
// election timeout, and the backups elected another primary. Connections are accepted paused (their
// bytes wait in the kernel) and handed to TLS only while fewer than HANDSHAKES_IN_PROGRESS_MAX
// handshakes are under way, so a poll phase runs at most that many and timers run between them.
// The newest connection waiting goes first: a burst that arrived before it delays it by a handshake,
// not by the whole burst.

import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import { connectionKey } from './connection-key.js';

/** Handshakes under way at once: ~40 ms of signatures at most in one poll phase. */
export const HANDSHAKES_IN_PROGRESS_MAX = 16;
/**
 * A handshake under way for longer than this gives its place to a connection waiting: handshakes take
 * a few round trips, milliseconds, and connections that stall theirs must not keep everyone out.
 */
export const HANDSHAKE_PLACE_HELD_MS = 1_000;

/** Why the pacer closed a connection: it waited too long for a place, or held one too long while others waited. */
export type PacerClosure = 'waited' | 'held';

export interface HandshakePacerOptions {
  /** Handshakes under way at once (HANDSHAKES_IN_PROGRESS_MAX by default). */
  inProgressMax?: number;
  /** Told of each connection the pacer closes, for the server's log: its client only sees a reset. */
  onClose?: (socket: Socket, why: PacerClosure) => void;
}

interface InProgress {
  readonly socket: Socket;
  readonly startedMs: number;
}

export class HandshakePacer {
  readonly #server: TlsServer;
  readonly #inProgressMax: number;
  readonly #waitMs: number;
  readonly #onClose: HandshakePacerOptions['onClose'];
  /** Accepted connections not yet handed to TLS, oldest first; bounded by the caller's admission (session caps, unauthenticated connections). */
  readonly #waiting: { socket: Socket; addedMs: number }[] = [];
  /** Handshakes under way, oldest first, by the connection's two ends. */
  readonly #inProgress = new Map<string, InProgress>();
  #scheduled = false;
  /** When connections wait for a place: the time the oldest handshake has held its own too long. */
  #makeRoomTimer: NodeJS.Timeout | null = null;

  /**
   * Hands the connections added to `server` (a TLS server listening on no port itself) as its
   * 'connection's; one that waits longer than `waitMs` for its turn is closed.
   */
  constructor(server: TlsServer, waitMs: number, { inProgressMax = HANDSHAKES_IN_PROGRESS_MAX, onClose }: HandshakePacerOptions = {}) {
    this.#server = server;
    this.#waitMs = waitMs;
    this.#inProgressMax = inProgressMax;
    this.#onClose = onClose;
    server.on('secureConnection', (socket: TLSSocket) => this.#finished(connectionKey(socket)));
  }

  /** Queues a connection accepted paused: it starts its handshake once there is room, after those queued before it. */
  add(socket: Socket): void {
    this.#waiting.push({ socket, addedMs: performance.now() });
    this.#schedule();
  }

  /** Closes the connections still waiting. */
  close(): void {
    for (const { socket } of this.#waiting.splice(0)) socket.destroy();
    if (this.#makeRoomTimer !== null) clearTimeout(this.#makeRoomTimer);
    this.#makeRoomTimer = null;
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
    while (this.#inProgress.size < this.#inProgressMax && this.#waiting.length > 0) {
      const { socket } = this.#waiting.pop()!;
      const key = connectionKey(socket);
      // Closed while it waited (evicted, refused, reset, or the server closing): nothing to start.
      if (socket.destroyed || key === undefined) {
        socket.destroy();
        continue;
      }
      this.#inProgress.set(key, { socket, startedMs: performance.now() });
      socket.once('close', () => this.#finished(key, socket));
      this.#server.emit('connection', socket);
    }
    if (this.#waiting.length > 0 && this.#makeRoomTimer === null) {
      const [oldest] = this.#inProgress.values();
      const heldMs = performance.now() - oldest!.startedMs;
      this.#makeRoomTimer = setTimeout(() => {
        this.#makeRoomTimer = null;
        this.#schedule();
      }, Math.max(0, HANDSHAKE_PLACE_HELD_MS - heldMs));
    }
  }

  /** Closes the connections that waited too long, and the handshakes that held their place too long while others wait. */
  #makeRoom(): void {
    const nowMs = performance.now();
    while (this.#waiting.length > 0 && nowMs - this.#waiting[0]!.addedMs >= this.#waitMs) this.#closeFor(this.#waiting.shift()!.socket, 'waited');
    if (this.#waiting.length === 0) return;
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
    if (this.#waiting.length > 0) this.#schedule();
  }
}

