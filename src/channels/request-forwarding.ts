// Forwarding requests from a backup to the primary over the node-to-node channel, for clients that
// cannot follow a redirect (Ethereum clients do not follow one on POST). The backup has already
// authenticated the caller; the primary trusts the backup as a node of the configuration (the
// channel authenticates it) and answers with what it would have answered the caller, once what it
// wrote is Committed; the backup relays that answer once it knows that commit too.

import { fromUtf8, utf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import type { Node } from '../node/node.js';
import type { NodeChannels } from './node-channels.js';

export const FORWARDED_REQUEST_FRAME = 2;
export const FORWARDED_RESPONSE_FRAME = 3;
/** How long a backup waits for the primary's answer, its own wait for the commit included, unless told. */
const ANSWER_WITHIN_MS_DEFAULT = 30_000;
/** How often a backup with requests in flight checks that their primary is still the primary. */
const PRIMARY_CHECK_MS = 50;
/** Requests a backup has in flight to the primary at once. */
const FORWARDS_IN_FLIGHT_MAX = 1024;
/**
 * How long a backup holds the primary's answer until it knows Committed what the primary knew
 * Committed when it answered, so that the caller's next read on this backup sees what its request
 * wrote, receipt included (a client stays on one node: hardhat-chai-matchers read the receipt once,
 * right after the send). The backup learns the commit with the primary's next message, so the wait
 * is short while it keeps up; past it, the caller is told this node is behind.
 */
const REPLICATION_WAIT_MS_DEFAULT = 10_000;

interface ForwardedRequest {
  id: number;
  body: string;
}

interface ForwardedResponse {
  id: number;
  body: string | null;
  error?: string;
  /** The primary's commit seqno once it had answered: what the backup waits to know Committed before answering. */
  seqno?: number;
}

export interface ForwardingOptions {
  /** How long after it is forwarded a request is answered at the latest (ANSWER_WITHIN_MS_DEFAULT). */
  answerWithinMs?: number;
  /** The longest a backup holds the primary's answer for the commit to reach it (REPLICATION_WAIT_MS_DEFAULT). */
  replicationWaitMs?: number;
}

/** A request in flight: the node it went to, when it must be answered by, and how to answer its caller. */
interface Waiter {
  to: string;
  deadlineMs: number;
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
    /** How the primary answers a forwarded request body, once what it wrote is Committed. */
    private readonly handle: (body: string) => Promise<string | undefined>,
    private readonly options: ForwardingOptions = {},
  ) {}

  /** Sends `body` to the primary and resolves with its answer. */
  forward(body: string): Promise<string | undefined> {
    const primary = this.node.role.leaderId;
    if (primary === undefined && this.node.stopNotice) return Promise.reject(this.node.retiredError('knows no primary to forward this request to'));
    if (primary === undefined || primary === this.node.nodeId) {
      return Promise.reject(new CocoError('NodeCannotHandleRequest', 'no primary is known to forward this request to (an election is under way, or this node cannot reach the others); retry shortly, or ask another node'));
    }
    if (this.waiting.size >= FORWARDS_IN_FLIGHT_MAX) return Promise.reject(new CocoError('TooManyPendingTransactions', 'too many requests are being forwarded to the primary; retry shortly'));
    const id = this.nextId++;
    const frame: ForwardedRequest = { id, body };
    const answerWithinMs = this.options.answerWithinMs ?? ANSWER_WITHIN_MS_DEFAULT;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id)?.reject(new CocoError('NodeCannotHandleRequest', `the primary did not answer the forwarded request within ${answerWithinMs / 1000} s (it may be paused, overloaded or cut off); it may or may not have run it, so check before sending it again`));
      }, answerWithinMs);
      this.waiting.set(id, { to: primary, deadlineMs: performance.now() + answerWithinMs, resolve, reject, timer });
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

  /** How the primary differs from node `to`, or undefined if it does not. */
  private primaryChange(to: string): string | undefined {
    const { leaderId } = this.node.role;
    if (leaderId === undefined) return 'no primary is known yet (an election is under way, or this node cannot reach the others)';
    if (leaderId !== to) return `the primary is now ${leaderId.slice(0, 12)}`;
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
      else void this.committed(message.seqno, waiter.deadlineMs).then(() => waiter.resolve(message.body ?? undefined), waiter.reject);
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
      (body) => reply({ id, body: body ?? null, seqno: this.node.commitTxId.seqno }),
      (error: unknown) => reply({ id, body: null, error: (error as Error).message }),
    );
  }

  /**
   * Resolves once this node knows `seqno` Committed; rejects after the replication wait, or at the
   * request's deadline if that comes first. What the primary knew Committed stays so whatever
   * primary comes next, so a change of primary meanwhile changes nothing.
   */
  private async committed(seqno: number | undefined, deadlineMs: number): Promise<void> {
    if (typeof seqno !== 'number') return;
    const waitMs = Math.max(0, Math.min(this.options.replicationWaitMs ?? REPLICATION_WAIT_MS_DEFAULT, deadlineMs - performance.now()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
    try {
      const known = await Promise.race([this.node.waitForCommit(seqno).then(() => true), timedOut]);
      if (!known) {
        throw new CocoError(
          'NodeCannotHandleRequest',
          `the primary answered once its write was Committed, but this node has not learnt of that commit in ${Math.round(waitMs) / 1000} s (it is behind the primary); ` +
            'what the primary did stands: read the outcome from the primary, or from this node once it catches up',
        );
      }
    } finally {
      clearTimeout(timer);
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
