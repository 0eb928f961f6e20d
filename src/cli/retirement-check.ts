// A node removed from the service may never hear that its removal committed: from then on the
// primary replicates to the new configuration only, and the other nodes refuse the removed node's
// connections. Left alone it would campaign forever and keep serving reads frozen at its removal.
// So a node that has heard from no primary for a while asks the others over HTTPS whether the
// service lists it as removable (its retirement committed: CCF's `retired_committed`), or whether
// the primary (found through the node asked) no longer knows it at all (an operator deleted its
// record); then it retires.

import { CocoClient } from '../client/coco-client.js';
import type { Node } from '../node/node.js';
import { publishedRpcAddresses, readNodeRecords } from '../node/service-nodes.js';

/** Election timeouts without a primary before a node asks: an election usually takes one or two. */
const LEADERLESS_TIMEOUTS = 3;
const ASK_TIMEOUT_MS = 2_000;

export class RetirementCheck {
  readonly #timer: NodeJS.Timeout;
  #primarySeenAtMs = Date.now();
  #asking = false;

  constructor(
    private readonly node: Node,
    private readonly serviceCertPem: string,
    private readonly electionTimeoutMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.#timer = setInterval(() => void this.#tick(), electionTimeoutMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #tick(): Promise<void> {
    const node = this.node;
    if (node.stopNotice || this.#asking) return;
    if (node.role.leaderId !== undefined) {
      this.#primarySeenAtMs = Date.now();
      return;
    }
    if (Date.now() - this.#primarySeenAtMs < LEADERLESS_TIMEOUTS * this.electionTimeoutMs) return;
    this.#asking = true;
    try {
      const by = await this.#retiredBy();
      if (by !== undefined && !node.stopNotice) {
        node.retire(by);
        if (node.stopNotice) this.log(`this node's retirement from the service committed (${by}); it takes no further part: stop it`);
      }
    } finally {
      this.#asking = false;
    }
  }

  /** Which node says this one is retired, and how; undefined when none does (or none answers). */
  async #retiredBy(): Promise<string | undefined> {
    const self = this.node.nodeId;
    for (const [id, info] of readNodeRecords(this.node.store)) {
      const address = id === self ? undefined : publishedRpcAddresses(info).values().next().value;
      if (address === undefined) continue;
      const url = `https://${address}`;
      const client = this.#client(url);
      try {
        const removable = (await client.request('GET', '/node/network/removable_nodes')).json<{ nodes: { node_id: string }[] }>().nodes;
        if (removable.some((n) => n.node_id === self)) return `node ${id.slice(0, 12)} lists it as removable`;
        const record = await client.request('GET', `/node/network/nodes/${self}`, { allowError: true });
        if (record.status !== 404) continue;
        // A backup may not have applied a deletion yet, or a new one may never have held the
        // record: only the primary's word counts. The node asked names it (a node restarted
        // after its retirement may know only backups and nodes that left since).
        const primaryUrl = await primaryUrlOf(client, url);
        if (primaryUrl !== undefined && (await this.#primaryForgot(primaryUrl, primaryUrl === url ? client : undefined))) {
          return `the primary at ${new URL(primaryUrl).host} no longer knows it`;
        }
      } catch {
        // Not reachable, or not answering: ask the next one.
      } finally {
        client.close();
      }
    }
    return undefined;
  }

  #client(url: string): CocoClient {
    return new CocoClient({ url, caCertPem: this.serviceCertPem, requestTimeoutMs: ASK_TIMEOUT_MS, redirectsMax: 0 });
  }

  /** Whether the node at `url` is the primary and holds no record of this node. */
  async #primaryForgot(url: string, open: CocoClient | undefined): Promise<boolean> {
    const client = open ?? this.#client(url);
    try {
      const record = await client.request('GET', `/node/network/nodes/${this.node.nodeId}`, { allowError: true });
      return record.status === 404 && (await client.request('GET', '/node/primary', { allowError: true })).status === 200;
    } finally {
      if (open === undefined) client.close();
    }
  }
}

/** The primary's URL as the node `client` reaches says: its own when it is the primary, where HEAD /node/primary redirects otherwise. */
async function primaryUrlOf(client: CocoClient, url: string): Promise<string | undefined> {
  const answer = await client.request('HEAD', '/node/primary', { allowError: true });
  if (answer.status === 200) return url;
  const location = answer.headers.location;
  if ((answer.status !== 307 && answer.status !== 308) || location === undefined) return undefined;
  return new URL(location, url).origin;
}
