// A node removed from the service may never hear that its removal committed: from then on the
// primary replicates to the new configuration only, and the other nodes refuse the removed node's
// connections. Left alone it would campaign forever and keep serving reads frozen at its removal.
// So a node that has heard from no primary for a while asks the others over HTTPS whether the
// service lists it as removable (its retirement committed: CCF's `retired_committed`), or whether
// the primary (found through the node asked) no longer knows it at all (an operator deleted its
// record); then it retires. As the service's commit of its log's last signature (if the node asked
// reports it) it then knows what it never heard: its removal, and what its log holds up to it, are
// Committed.
//
// A joiner told it was trusted by a primary that lost its role before that trust committed is in
// the same place: no primary replicates to it, and its state may hold no node to ask. It also asks
// the node it joined through, and says what it learns: the service lists it as Pending (members
// must trust it again), or does not know it at all (it stops; it joins again from empty directories).

import { CocoClient } from '../client/coco-client.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';
import type { Node } from '../node/node.js';
import { publishedRpcAddresses, readNodeRecords } from '../node/service-nodes.js';

/** Election timeouts without a primary before a node asks: an election usually takes one or two. */
const LEADERLESS_TIMEOUTS = 3;
const ASK_TIMEOUT_MS = 2_000;
/** How often a node the service lists as Pending says so again while no primary replicates to it. */
const PENDING_WARNING_INTERVAL_MS = 60_000;

export class RetirementCheck {
  readonly #timer: NodeJS.Timeout;
  #primarySeenAtMs = Date.now();
  #asking = false;
  #pendingWarnedAtMs = -Infinity;

  /** `joinedThrough`: the address of the node this one joined the service through, if it joined. */
  constructor(
    private readonly node: Node,
    private readonly serviceCertPem: string,
    private readonly electionTimeoutMs: number,
    private readonly log: (line: string) => void,
    private readonly joinedThrough?: string,
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
        // A joiner whose state never recorded it was never part of the service to retire from.
        const known = readNodeRecords(node.store).has(node.nodeId);
        node.retire(by, committedSignature);
        if (node.stopNotice && known) this.log(`this node's retirement from the service committed (${by}); it takes no further part: stop it`);
        else if (node.stopNotice) {
          this.log(
            `the service does not know this node (${by}): the trust it was told of when it joined did not commit, or members removed it since; ` +
              'it takes no further part: stop it, and to add this host again start a node that joins with empty ledger, snapshot and sealed-secrets paths',
          );
        }
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
    for (const address of this.#addressesToAsk()) {
      const url = `https://${address}`;
      const client = this.#client(url);
      try {
        const removable = (await client.request('GET', '/node/network/removable_nodes')).json<{ nodes: { node_id: string }[] }>().nodes;
        if (removable.some((n) => n.node_id === this.node.nodeId)) {
          const committedSignature = await this.#committedSignature(client);
          return { by: `the node at ${address} lists it as removable`, ...(committedSignature && { committedSignature }) };
        }
        if (!isAbsentOrPending(await this.#recordStatus(client))) continue;
        // A backup may not have applied a deletion yet, or a new one may never have held the
        // record: only the primary's word counts. The node asked names it (a node restarted
        // after its retirement may know only backups and nodes that left since).
        const primaryUrl = await primaryUrlOf(client, url);
        if (primaryUrl === undefined) continue;
        const status = await this.#primaryRecordStatus(primaryUrl, primaryUrl === url ? client : undefined);
        if (status === 'absent') return { by: `the primary at ${new URL(primaryUrl).host} no longer knows it` };
        if (status === 'Pending') this.#warnPending(primaryUrl);
        if (status !== undefined) return undefined;
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

  /**
   * The nodes its state records, at each RPC address they publish (an interface whose
   * accepted_endpoints leave out /node refuses the questions; the next one is asked), then the
   * node it joined through.
   */
  #addressesToAsk(): Set<string> {
    const addresses = new Set<string>();
    for (const [id, info] of readNodeRecords(this.node.store)) {
      if (id === this.node.nodeId) continue;
      for (const address of publishedRpcAddresses(info).values()) addresses.add(address);
    }
    if (this.joinedThrough !== undefined) addresses.add(this.joinedThrough);
    return addresses;
  }

  /** This node's status in the records of the node `client` reaches, 'absent' when it holds none. */
  async #recordStatus(client: CocoClient): Promise<RecordStatus> {
    const record = await client.request('GET', `/node/network/nodes/${this.node.nodeId}`, { allowError: true });
    if (record.status === 404) return 'absent';
    return record.status === 200 ? record.json<{ status?: string }>().status : undefined;
  }

  /** This node's status in the primary's records, if the node at `url` is the primary. */
  async #primaryRecordStatus(url: string, open: CocoClient | undefined): Promise<RecordStatus> {
    const client = open ?? this.#client(url);
    try {
      const status = await this.#recordStatus(client);
      return isAbsentOrPending(status) && (await client.request('GET', '/node/primary', { allowError: true })).status === 200 ? status : undefined;
    } finally {
      if (open === undefined) client.close();
    }
  }

  #warnPending(primaryUrl: string): void {
    if (Date.now() - this.#pendingWarnedAtMs < PENDING_WARNING_INTERVAL_MS) return;
    this.#pendingWarnedAtMs = Date.now();
    this.log(
      `the primary at ${new URL(primaryUrl).host} lists this node as Pending, and no primary replicates to it: the trust it was told of when it joined ` +
        'did not commit (the primary that admitted it lost its role first). Members can trust it again (transition_node_to_trusted), and it then catches up; or remove it (remove_node)',
    );
  }
}

/** A node's status in a service's records: 'absent' when they hold none, undefined when unknown. */
type RecordStatus = string | undefined;

const isAbsentOrPending = (status: RecordStatus): boolean => status === 'absent' || status === 'Pending';

/** The primary's URL as the node `client` reaches says: its own when it is the primary, where HEAD /node/primary redirects otherwise. */
async function primaryUrlOf(client: CocoClient, url: string): Promise<string | undefined> {
  const answer = await client.request('HEAD', '/node/primary', { allowError: true });
  if (answer.status === 200) return url;
  const location = answer.headers.location;
  if ((answer.status !== 307 && answer.status !== 308) || location === undefined) return undefined;
  return new URL(location, url).origin;
}
