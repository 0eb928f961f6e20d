// A node removed from the service may never hear that its removal committed: from then on the
// primary replicates to the new configuration only, and the other nodes refuse the removed node's
// connections. Left alone it would campaign forever and keep serving reads frozen at its removal.
// So a node that has heard from no primary for a while asks the others over HTTPS whether the
// service lists it as removable (its retirement committed: CCF's `retired_committed`), or whether
// the primary (found through the node asked) no longer knows it at all (an operator deleted its
// record); then it retires. As the service's commit of its log's last signature (if the node asked
// reports it) it then knows what it never heard: its removal, and what its log holds up to it, are
// Committed.

import { CocoClient } from '../client/coco-client.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
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
      const retired = await this.#retiredBy();
      if (retired !== undefined && !node.stopNotice) {
        const { by, committedSignature } = retired;
        node.retire(by, committedSignature);
        if (node.stopNotice) this.log(`this node's retirement from the service committed (${by}); it takes no further part: stop it`);
      }
    } finally {
      this.#asking = false;
    }
  }

  /**
   * Which node says this one is retired, and how, with this log's last signature when that node
   * reports it Committed; undefined when none says so (or none answers).
   */
  async #retiredBy(): Promise<{ by: string; committedSignature?: TxId } | undefined> {
    const self = this.node.nodeId;
    for (const [id, info] of readNodeRecords(this.node.store)) {
      const address = id === self ? undefined : publishedRpcAddresses(info).values().next().value;
      if (address === undefined) continue;
      const url = `https://${address}`;
      const client = this.#client(url);
      try {
        const removable = (await client.request('GET', '/node/network/removable_nodes')).json<{ nodes: { node_id: string }[] }>().nodes;
        if (removable.some((n) => n.node_id === self)) {
          const committedSignature = await this.#committedSignature(client);
          return { by: `node ${id.slice(0, 12)} lists it as removable`, ...(committedSignature && { committedSignature }) };
        }
        const record = await client.request('GET', `/node/network/nodes/${self}`, { allowError: true });
        if (record.status !== 404) continue;
        // A backup may not have applied a deletion yet, or a new one may never have held the
        // record: only the primary's word counts. The node asked names it (a node restarted
        // after its retirement may know only backups and nodes that left since).
        const primaryUrl = await primaryUrlOf(client, url);
        if (primaryUrl !== undefined && (await this.#primaryForgot(primaryUrl, primaryUrl === url ? client : undefined))) {
          return { by: `the primary at ${new URL(primaryUrl).host} no longer knows it` };
        }
      } catch {
        // Not reachable, or not answering: ask the next one.
      } finally {
        client.close();
      }
    }
    return undefined;
  }

  /** This log's last signature, past its own commit, if the node `client` reaches reports it Committed. */
  async #committedSignature(client: CocoClient): Promise<TxId | undefined> {
    const node = this.node;
    const signature = { view: node.viewOf(node.lastSignatureSeqno), seqno: node.lastSignatureSeqno };
    if (signature.seqno <= node.commitTxId.seqno) return undefined;
    try {
      const answer = (await client.request('GET', `/node/tx?transaction_id=${formatTxId(signature)}`)).json<{ status?: unknown } | null>();
      return answer?.status === 'Committed' ? signature : undefined;
    } catch {
      return undefined; // its retirement stands; only what it knows committed stays short
    }
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
