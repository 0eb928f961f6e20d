// A TCP proxy that end-to-end tests put in front of a listener to inject network faults: it forwards
// bytes both ways between each connection it accepts on 127.0.0.1 and the target, and on command
// drops them (partition: open connections are destroyed, new ones refused until healed) or delays
// them (order kept). It works on bytes only, it cannot read TLS; an `identify` callback names the
// source of each connection (which node dialled), so that a fault can hit one link and spare others.

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const HOST = '127.0.0.1';

export interface FaultProxyOptions {
  /** The real listener the proxy forwards to. */
  target: { host: string; port: number };
  /** The port to listen on at 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Names the source of an accepted connection; undefined when unknown (then only faults on every source apply). */
  identify?: (socket: Socket) => string | undefined;
}

/** One direction of one connection: bytes leave `to` in arrival order, each no earlier than its due time. */
class Forwarder {
  private readonly queue: { dueMs: number; chunk: Buffer }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly delayMs: () => number,
  ) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    from.on('end', () => {
      this.ended = true;
      this.flush();
    });
  }

  /** Bytes received and not yet due. */
  get heldBytes(): number {
    return this.queue.reduce((sum, item) => sum + item.chunk.length, 0);
  }

  private push(chunk: Buffer): void {
    const delayMs = this.delayMs();
    if (delayMs === 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    // A later chunk never overtakes an earlier one, even when the delay shrinks meanwhile.
    const dueMs = Math.max(performance.now() + delayMs, this.queue.at(-1)?.dueMs ?? 0);
    this.queue.push({ dueMs, chunk });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, Math.max(0, this.queue[0]!.dueMs - performance.now()));
  }

  private flush(): void {
    const nowMs = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.dueMs <= nowMs) this.write(this.queue.shift()!.chunk);
    if (this.queue.length > 0) this.schedule();
    else if (this.ended && !this.to.destroyed) this.to.end();
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    // Backpressure: a slow receiver pauses the sender instead of growing the proxy's buffers.
    if (!this.to.write(chunk) && !this.from.isPaused()) {
      this.from.pause();
      this.to.once('drain', () => this.from.resume());
    }
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}

interface Connection {
  source: string | undefined;
  client: Socket;
  upstream: Socket;
  forwarders: Forwarder[];
}

export class FaultProxy {
  private readonly connections = new Set<Connection>();
  private blockedAll = false;
  private readonly blocked = new Set<string>();
  private delayAllMs = 0;
  private readonly delays = new Map<string, number>();
  private refusedCount = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: FaultProxyOptions,
  ) {}

  /** Listens on 127.0.0.1 and forwards every accepted connection to `options.target`. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer({ allowHalfOpen: true });
    const proxy = new FaultProxy(server, options);
    server.on('connection', (socket) => proxy.accept(socket));
    server.listen(options.port ?? 0, HOST);
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `127.0.0.1:port`: the address to publish instead of the target's. */
  get address(): string {
    return `${HOST}:${this.port}`;
  }

  /** The sources of the open connections, one entry per connection (undefined: not identified). */
  openSources(): (string | undefined)[] {
    return [...this.connections].map((c) => c.source);
  }

  /** Bytes the proxy received and holds back because of a delay. */
  get heldBytes(): number {
    let bytes = 0;
    for (const connection of this.connections) for (const forwarder of connection.forwarders) bytes += forwarder.heldBytes;
    return bytes;
  }

  /** Connections destroyed on arrival because their source was partitioned. */
  get refused(): number {
    return this.refusedCount;
  }

  /** Drops the connections from `source` (from every source when omitted) and refuses new ones until healed. */
  partition(source?: string): void {
    if (source === undefined) this.blockedAll = true;
    else this.blocked.add(source);
    for (const connection of this.connections) {
      if (this.isBlocked(connection.source)) this.drop(connection);
    }
  }

  /** Lifts the partition of `source`, or every partition when omitted. */
  heal(source?: string): void {
    if (source === undefined) {
      this.blockedAll = false;
      this.blocked.clear();
    } else {
      this.blocked.delete(source);
    }
  }

  /** Holds back the bytes of connections from `source` (of all when omitted) by `ms`, both ways; 0 ends it. */
  delay(ms: number, source?: string): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a delay is a number of milliseconds >= 0, got ${ms}`);
    if (source === undefined) this.delayAllMs = ms;
    else if (ms === 0) this.delays.delete(source);
    else this.delays.set(source, ms);
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    for (const connection of this.connections) this.drop(connection);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private isBlocked(source: string | undefined): boolean {
    return this.blockedAll || (source !== undefined && this.blocked.has(source));
  }

  private delayOf(source: string | undefined): number {
    return (source === undefined ? undefined : this.delays.get(source)) ?? this.delayAllMs;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    const source = this.options.identify?.(client);
    if (this.isBlocked(source)) {
      this.refusedCount += 1;
      client.destroy();
      return;
    }
    const upstream = connect({ host: this.options.target.host, port: this.options.target.port, allowHalfOpen: true });
    upstream.on('error', () => undefined);
    const connection: Connection = { source, client, upstream, forwarders: [] };
    connection.forwarders.push(
      new Forwarder(client, upstream, () => this.delayOf(source)),
      new Forwarder(upstream, client, () => this.delayOf(source)),
    );
    this.connections.add(connection);
    // Either side failing or closing takes the other down: the proxy never holds a half-dead pair.
    for (const socket of [client, upstream]) socket.on('close', () => this.drop(connection));
  }

  private drop(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    for (const forwarder of connection.forwarders) forwarder.stop();
    connection.client.destroy();
    connection.upstream.destroy();
  }
}
