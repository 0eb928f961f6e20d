// Forwarding requests from a backup to the primary over the node-to-node channel, for clients that
// cannot follow a redirect (Ethereum clients do not follow one on POST). The backup has already
// authenticated the caller; the primary trusts the backup as a node of the configuration (the
// channel authenticates it) and answers with what it would have answered the caller.

import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { Node } from '../node/node.js';
import type { NodeChannels } from './node-channels.js';

export const FORWARDED_REQUEST_FRAME = 2;
export const FORWARDED_RESPONSE_FRAME = 3;
/** How long a backup waits for the primary's answer. */
const FORWARD_TIMEOUT_MS = 30_000;
/** How often a backup with requests in flight checks that their primary is still the primary. */
const PRIMARY_CHECK_MS = 50;
/** Requests a backup has in flight to the primary at once. */
const FORWARDS_IN_FLIGHT_MAX = 1024;
/**
 * How long a backup holds the primary's answer until its own log has what the primary had written
 * when it answered, so that the caller's next read on this backup sees its own write (a wallet
 * reading its `pending` nonce), and so that a write a failed primary took with it is never
 * acknowledged. While the primary keeps its place the write reaches the backup or the primary is
 * replaced, so the wait is long; past it, or once the primary changes, the caller is told the
 * request may or may not have run.
 */
const REPLICATION_WAIT_MS_DEFAULT = 10_000;
const REPLICATION_POLL_MS = 1;

interface ForwardedRequest {
  id: number;
  body: string;
}

interface ForwardedResponse {
  id: number;
  body: string | null;
  error?: string;
  /** The primary's last seqno once it had answered: what the backup waits to hold before answering. */
  seqno?: number;
  /** The primary's view when it answered: a backup in another view cannot tell whether it holds that write. */
  view?: number;
}

/** A request in flight: the node it went to, and how to answer its caller. */
interface Waiter {
  to: string;
  resolve: (body: string | undefined) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class RequestForwarder {
  private nextId = 1;
  private readonly waiting = new Map<number, Waiter>();
  /** Runs while requests are in flight: a primary that lost its place will not answer them. */
  private primaryCheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly channels: NodeChannels,
    private readonly node: Node,
    /** How the primary answers a forwarded request body. */
    private readonly handle: (body: string) => Promise<string | undefined>,
    private readonly replicationWaitMs = REPLICATION_WAIT_MS_DEFAULT,
  ) {}

  /** Sends `body` to the primary and resolves with its answer. */
  forward(body: string): Promise<string | undefined> {
    const primary = this.node.role.leaderId;
    if (primary === undefined && this.node.stopNotice) return Promise.reject(this.node.retiredError('knows no primary to forward this request to'));
    if (primary === undefined || primary === this.node.nodeId) {
      return Promise.reject(new CocoError('NodeCannotHandleRequest', 'no primary is known to forward this request to (an election is under way); retry shortly'));
    }
    if (this.waiting.size >= FORWARDS_IN_FLIGHT_MAX) return Promise.reject(new CocoError('TooManyPendingTransactions', 'too many requests are being forwarded to the primary; retry shortly'));
    const id = this.nextId++;
    const frame: ForwardedRequest = { id, body };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id)?.reject(new CocoError('NodeCannotHandleRequest', `the primary did not answer the forwarded request within ${FORWARD_TIMEOUT_MS / 1000} s; it may or may not have run it`));
      }, FORWARD_TIMEOUT_MS);
      this.waiting.set(id, { to: primary, resolve, reject, timer });
      this.primaryCheck ??= setInterval(() => this.checkPrimary(), PRIMARY_CHECK_MS);
      if (!this.channels.send(primary, FORWARDED_REQUEST_FRAME, utf8(JSON.stringify(frame)))) {
        this.settle(id)?.reject(new CocoError('NodeCannotHandleRequest', 'the primary cannot be reached to forward this request; retry shortly'));
      }
    });
  }

  /** Removes request `id` from those in flight and returns its waiter, if it was still waiting. */
  private settle(id: number): Waiter | undefined {
    const waiter = this.waiting.get(id);
    if (waiter === undefined) return undefined;
    this.waiting.delete(id);
    clearTimeout(waiter.timer);
    if (this.waiting.size === 0) {
      clearInterval(this.primaryCheck);
      this.primaryCheck = undefined;
    }
    return waiter;
  }

  /**
   * Requests sent to a node that is no longer the primary fail at once: a primary that crashed or
   * lost an election never answers, and the caller would otherwise wait the whole timeout.
   */
  private checkPrimary(): void {
    for (const [id, waiter] of this.waiting) {
      const change = this.primaryChange(waiter.to);
      if (change !== undefined) this.settle(id)?.reject(primaryChanged(change));
    }
  }

  /** How the primary differs from node `to` in view `view` (any view if not given), or undefined if it does not. */
  private primaryChange(to: string, view?: number): string | undefined {
    const { leaderId, view: viewNow } = this.node.role;
    if (leaderId === undefined) return 'no primary is known yet (an election is under way)';
    if (leaderId !== to) return `the primary is now ${leaderId.slice(0, 12)}`;
    if (view !== undefined && viewNow !== view) return `view ${viewNow} began`;
    return undefined;
  }

  /** A frame of kind FORWARDED_REQUEST_FRAME or FORWARDED_RESPONSE_FRAME from node `from`. */
  receive(from: string, kind: number, payload: Uint8Array): void {
    const message = JSON.parse(fromUtf8(payload)) as Partial<ForwardedRequest & ForwardedResponse>;
    if (typeof message.id !== 'number') throw new CocoError('InvalidForwardedMessage', `a forwarded message from ${from} has no id`);
    if (kind === FORWARDED_RESPONSE_FRAME) {
      const waiter = this.settle(message.id);
      if (waiter === undefined) return;
      if (typeof message.error === 'string') waiter.reject(new CocoError('NodeCannotHandleRequest', `the primary could not handle the forwarded request: ${message.error}`));
      else void this.replicated(waiter.to, message.seqno, message.view).then(() => waiter.resolve(message.body ?? undefined), waiter.reject);
      return;
    }
    if (typeof message.body !== 'string') throw new CocoError('InvalidForwardedMessage', `a forwarded request from ${from} has no body`);
    const reply = (answer: ForwardedResponse) => this.channels.send(from, FORWARDED_RESPONSE_FRAME, utf8(JSON.stringify(answer)));
    const id = message.id;
    if (!this.node.isPrimary) {
      reply({ id, body: null, error: 'this node is no longer the primary' });
      return;
    }
    this.handle(message.body).then(
      (body) => reply({ id, body: body ?? null, seqno: this.node.lastTxId.seqno, view: this.node.role.view }),
      (error: unknown) => reply({ id, body: null, error: (error as Error).message }),
    );
  }

  /**
   * Resolves once this node's log reaches `seqno` from primary `to` in `view`; rejects if the primary
   * changes first or the replication wait passes, as the write may then be lost in an election.
   */
  private async replicated(to: string, seqno: number | undefined, view: number | undefined): Promise<void> {
    if (typeof seqno !== 'number') return;
    const deadline = Date.now() + this.replicationWaitMs;
    for (;;) {
      const change = this.primaryChange(to, view);
      if (change !== undefined) throw primaryChanged(change);
      if (this.node.lastTxId.seqno >= seqno) return;
      if (Date.now() >= deadline) {
        throw new CocoError('NodeCannotHandleRequest', `the primary answered, but its write has not reached this node in ${this.replicationWaitMs / 1000} s; it may or may not have run it, so check before sending it again`);
      }
      await new Promise((resolve) => setTimeout(resolve, REPLICATION_POLL_MS));
    }
  }

  close(): void {
    for (const id of [...this.waiting.keys()]) this.settle(id)?.reject(new CocoError('NodeCannotHandleRequest', 'the node is stopping'));
  }
}

/** A forwarded request whose fate the backup cannot vouch for: the caller must look it up before sending it again. */
function primaryChanged(change: string): CocoError {
  return new CocoError('NodeCannotHandleRequest', `the primary changed while this request was forwarded to it (${change}); it may or may not have run it, so check before sending it again`);
}
