// Nodes for the channel tests: service identities, node identities they endorse (IP SAN 127.0.0.1),
// and NodeChannels on 127.0.0.1 that record every frame and log line, with promises that resolve when
// a matching one arrives (so tests wait on events, never on durations).

import { NodeChannels } from '../../src/channels/node-channels.js';
import { createNodeIdentity, createServiceIdentity, endorseNode, type ServiceIdentity } from '../../src/node/identities.js';

const HOUR_MS = 3_600_000;
const VALIDITY_DAYS = 2;
const HOST = '127.0.0.1';

export interface NodeKeys {
  id: string;
  keyPem: string;
  certPem: string;
}

/** Valid from an hour ago; `expired`: valid for a day that ended yesterday. */
function validFrom(expired = false): Date {
  return new Date(Date.now() - (expired ? 72 * HOUR_MS : HOUR_MS));
}

function validityDays(expired = false): number {
  return expired ? 1 : VALIDITY_DAYS;
}

export function createService(options: { expired?: boolean } = {}): ServiceIdentity {
  return createServiceIdentity(validFrom(options.expired), validityDays(options.expired), 'P-256');
}

export function createNode(service: ServiceIdentity, options: { expired?: boolean } = {}): NodeKeys {
  const sans = { ip: [HOST] };
  const node = createNodeIdentity(sans, validFrom(options.expired), validityDays(options.expired), 'P-256');
  return { id: node.nodeId, keyPem: node.keyPair.privateKeyPem, certPem: endorseNode(node, service, sans, validFrom(options.expired), validityDays(options.expired)) };
}

/** Items seen so far, and promises for the first item matching a predicate. */
export class Recorder<T> {
  readonly items: T[] = [];
  private waiting: Array<{ match: (item: T) => boolean; resolve: (item: T) => void }> = [];

  add(item: T): void {
    this.items.push(item);
    const still = [];
    for (const waiter of this.waiting) {
      if (waiter.match(item)) waiter.resolve(item);
      else still.push(waiter);
    }
    this.waiting = still;
  }

  waitFor(match: (item: T) => boolean): Promise<T> {
    const found = this.items.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }
}

export interface ReceivedFrame {
  from: string;
  kind: number;
  text: string;
}

export interface TestNode {
  keys: NodeKeys;
  channels: NodeChannels;
  port: number;
  address: string;
  frames: Recorder<ReceivedFrame>;
  logs: Recorder<string>;
  /** Node IDs `authorize` refuses; edit it to change the answer. */
  refused: Set<string>;
  waitForLog(pattern: RegExp): Promise<string>;
  waitForFrame(from: string, text: string): Promise<ReceivedFrame>;
  /** Texts received from `from`, in order. */
  textsFrom(from: string): string[];
}

export async function startNode(
  keys: NodeKeys,
  serviceCertPem: string,
  options: { port?: number; inboundHandshakeTimeoutMs?: number; onFrame?: (from: string, kind: number, payload: Uint8Array) => void } = {},
): Promise<TestNode> {
  const frames = new Recorder<ReceivedFrame>();
  const logs = new Recorder<string>();
  const refused = new Set<string>();
  const channels = new NodeChannels({
    selfId: keys.id,
    keyPem: keys.keyPem,
    certPem: keys.certPem,
    serviceCertPem,
    host: HOST,
    port: options.port ?? 0,
    authorize: (peerId) => !refused.has(peerId),
    onFrame: (from, kind, payload) => {
      options.onFrame?.(from, kind, payload);
      frames.add({ from, kind, text: Buffer.from(payload).toString('utf8') });
    },
    log: (message, level) => logs.add(level === 'warn' ? `[warn] ${message}` : message),
    inboundHandshakeTimeoutMs: options.inboundHandshakeTimeoutMs,
  });
  const { port } = await channels.listen();
  return {
    keys,
    channels,
    port,
    address: `${HOST}:${port}`,
    frames,
    logs,
    refused,
    waitForLog: (pattern) => logs.waitFor((line) => pattern.test(line)),
    waitForFrame: (from, text) => frames.waitFor((f) => f.from === from && f.text === text),
    textsFrom: (from) => frames.items.filter((f) => f.from === from).map((f) => f.text),
  };
}

export function connect(node: TestNode, peers: TestNode[]): void {
  node.channels.setPeers(new Map(peers.map((peer) => [peer.keys.id, peer.address])));
}

export function text(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'utf8'));
}
