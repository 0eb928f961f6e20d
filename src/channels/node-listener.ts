// The node-to-node port, bound on its own: a joiner binds it before it asks to join, so that a port
// another process holds stops the node before the service records it, rather than once members
// trust it. Connections that arrive before the channels take the port wait, unread and bounded.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CocoError } from '../errors.js';
import { INBOUND_HANDSHAKE_TIMEOUT_MS, UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX } from './channel-limits.js';

interface Waiting {
  readonly socket: Socket;
  readonly deadline: NodeJS.Timeout;
}

export class NodeListener {
  private readonly server: Server;
  /** Connections accepted before accept() was called, oldest first; each closes unless taken in time. */
  private readonly waiting: Waiting[] = [];
  private onConnection: ((socket: Socket) => void) | null = null;

  private constructor(server: Server) {
    this.server = server;
    this.server.on('connection', (socket) => this.connection(socket));
  }

  /** Listens on host:port (port 0: any free port); ChannelListenFailed says why it cannot. */
  static bind(host: string, port: number): Promise<NodeListener> {
    // Paused: bytes stay in the kernel until whoever takes the socket (TLS) reads them.
    const server = createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once('error', (error: Error) => {
        reject(new CocoError('ChannelListenFailed', `cannot listen for other nodes on ${host}:${port} (network.node_to_node_interface.bind_address): ${error.message}`, { cause: error }));
      });
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        resolve(new NodeListener(server));
      });
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Hands every connection, those waiting first, to `onConnection` (once: the channels own the port from then on). */
  accept(onConnection: (socket: Socket) => void, log: (message: string) => void): void {
    if (this.onConnection !== null) throw new CocoError('InvalidArgument', 'the node-to-node listener already hands its connections to the channels');
    this.onConnection = onConnection;
    this.server.on('error', (error) => log(`node listener error: ${error.message}`));
    for (const { socket, deadline } of this.waiting.splice(0)) {
      clearTimeout(deadline);
      if (!socket.destroyed) onConnection(socket);
    }
  }

  async close(): Promise<void> {
    for (const { socket, deadline } of this.waiting.splice(0)) {
      clearTimeout(deadline);
      socket.destroy();
    }
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connection(socket: Socket): void {
    if (this.onConnection !== null) return this.onConnection(socket);
    // Before the channels exist (a joiner waiting to be trusted), as many as the channels would hold
    // in their handshake, as long: a peer dialling early is closed and dials again.
    if (this.waiting.length >= UNAUTHENTICATED_INBOUND_CONNECTIONS_MAX) this.drop(this.waiting[0]!);
    const entry: Waiting = { socket, deadline: setTimeout(() => this.drop(entry), INBOUND_HANDSHAKE_TIMEOUT_MS) };
    this.waiting.push(entry);
    socket.on('error', () => this.drop(entry));
  }

  private drop(entry: Waiting): void {
    const i = this.waiting.indexOf(entry);
    if (i >= 0) this.waiting.splice(i, 1);
    clearTimeout(entry.deadline);
    entry.socket.destroy();
  }
}
