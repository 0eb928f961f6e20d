// How the CLI waits until a change it made is Committed. It polls the node it talks to; when that
// node does not answer, or still reports the change Pending after a while (a node that the change
// removed may never hear that it committed), it polls the service's other nodes too. Committed and
// Invalid are final on every node of the service (consensus/tx-status.ts), so the first node that
// reports either settles the wait.

import { setTimeout as sleep } from 'node:timers/promises';
import { CocoClient } from '../client/coco-client.js';
import { requestTxStatus, transactionInvalid, type TransactionStatus } from '../client/transactions.js';
import { CocoError } from '../errors.js';
import { formatTxId, type TxId } from '../ledger/tx-id.js';

const POLL_INTERVAL_MS = 50;
/**
 * How long the node asked may report the change Pending before the other nodes are asked too: a
 * healthy service commits within milliseconds, and a backup hears of it a heartbeat later.
 */
export const PENDING_ALONE_MS = 500;
/** How long one node has to answer one poll: a node that hangs must not hold the others' answers. */
const NODE_ANSWER_MS = 5_000;
/** Failures that say a node is down or unreachable, not that the question was wrong. */
const NO_ANSWER_CODES = new Set(['ConnectionFailed', 'ConnectionLost', 'Timeout']);

export interface CommitWaitOptions {
  timeoutMs: number;
  /** Called after each poll that found the change not yet committed. */
  onProgress?: () => void;
  /** The service's nodes but the one asked (`https://host:port`), looked up once, when first needed. */
  otherNodeUrls: () => Promise<string[]>;
}

/** Which node reported the change Committed: the one asked, or another whose URL it names. */
export type CommitWitness = { node: 'asked' } | { node: 'other'; url: string };

type Answer = { url: string; status: TransactionStatus } | { url: string; failure: CocoError };

/**
 * Waits until a node of the service reports `txId` Committed. Throws CocoError 'TransactionInvalid'
 * when one reports it Invalid, 'Timeout' naming each node's last answer, and the node asked's own
 * failure when no node answers at all.
 */
export async function waitUntilCommitted(client: CocoClient, caCertPem: string, txId: TxId, options: CommitWaitOptions): Promise<CommitWitness> {
  const id = formatTxId(txId);
  const deadline = Date.now() + options.timeoutMs;
  let askOthersAt = Date.now() + PENDING_ALONE_MS;
  let others: CocoClient[] | undefined;
  const lastAnswers = new Map<string, string>();
  const timedOut = (): CocoError =>
    new CocoError('Timeout', `transaction ${id} was not committed within ${options.timeoutMs} ms; last status ${[...lastAnswers].map(([url, answer]) => (lastAnswers.size === 1 ? answer : `${answer} at ${new URL(url).host}`)).join(', ') || 'not yet known'}`);
  try {
    for (;;) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) throw timedOut();
      if (others === undefined && Date.now() >= askOthersAt) {
        others = (await options.otherNodeUrls()).map((url) => new CocoClient({ url, caCertPem, redirectsMax: 0 }));
      }
      const answers = await Promise.all([client, ...(others ?? [])].map((node) => statusAt(node, id, Math.min(remainingMs, NODE_ANSWER_MS))));
      const [asked] = answers as [Answer, ...Answer[]];
      // A wrong certificate, or a node that does not know the request: not for another node to hide.
      if ('failure' in asked && !NO_ANSWER_CODES.has(asked.failure.code)) throw asked.failure;
      for (const answer of answers) lastAnswers.set(answer.url, 'status' in answer ? answer.status : `no answer (${answer.failure.code})`);
      const committed = answers.find((answer) => 'status' in answer && answer.status === 'Committed');
      if (committed !== undefined) return committed === asked ? { node: 'asked' } : { node: 'other', url: committed.url };
      if (answers.some((answer) => 'status' in answer && answer.status === 'Invalid')) {
        throw transactionInvalid(id);
      }
      if ('failure' in asked) {
        // The node asked is down: ask the others at once; once they were asked too, and none answered, give up.
        if (others === undefined) {
          askOthersAt = Date.now();
          continue;
        }
        if (answers.every((answer) => 'failure' in answer)) throw asked.failure;
      }
      options.onProgress?.();
      const waitMs = Math.min(POLL_INTERVAL_MS, deadline - Date.now());
      if (waitMs <= 0) throw timedOut();
      await sleep(waitMs);
    }
  } finally {
    for (const other of others ?? []) other.close();
  }
}

/** What the node at `client` says of transaction `id`; a failure to answer is an answer too. */
async function statusAt(client: CocoClient, id: string, timeoutMs: number): Promise<Answer> {
  try {
    return { url: client.url, status: await requestTxStatus(client, id, timeoutMs) };
  } catch (error) {
    if (error instanceof CocoError) return { url: client.url, failure: error };
    throw error;
  }
}
