// What a client does with a TxID after a write: wait until the service reports it Committed, fetch
// its receipt (retrying while the node answers 202 and fetches the entry), and verify that receipt
// offline against the service certificate. Every wait is bounded by a timeout.

import { setTimeout as sleep } from 'node:timers/promises';
import { CocoError } from '../errors.js';
import { verifyCoseReceipt as verifyCoseReceiptAt, type VerifiedCoseReceipt } from '../ledger/cose-receipt.js';
import { verifyReceipt, type Receipt, type VerifiedReceipt } from '../ledger/receipt.js';
import { formatTxId, parseTxId as parseLedgerTxId, type TxId } from '../ledger/tx-id.js';
import type { CocoClient } from './coco-client.js';
import { CocoRequestError } from './request-error.js';
import { positiveInteger } from './option-checks.js';

export { verifyReceipt };

export const COMMIT_TIMEOUT_MS_DEFAULT = 30_000;
export const COMMIT_POLL_INTERVAL_MS_DEFAULT = 50;
export const RECEIPT_TIMEOUT_MS_DEFAULT = 30_000;
/** The wait after a 202 without a usable Retry-After header. */
export const RECEIPT_RETRY_MS_DEFAULT = 500;
const MS_PER_SECOND = 1_000;

export const TRANSACTION_STATUSES = ['Unknown', 'Pending', 'Committed', 'Invalid'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

export interface WaitForCommitOptions {
  timeoutMs?: number;
  pollIntervalMs?: number;
  /** Called with each status the service reports before the final one. */
  onProgress?: (status: TransactionStatus) => void;
}

export interface GetReceiptOptions {
  timeoutMs?: number;
  /** Called before each wait that a 202 asked for, with the wait in milliseconds. */
  onRetry?: (delayMs: number) => void;
}

/** A TxID from its text `<view>.<seqno>`, e.g. "2.15"; CocoError 'InvalidArgument' when it is not one. */
export function parseTxId(text: string): TxId {
  try {
    return parseLedgerTxId(text);
  } catch (cause) {
    // The ledger's code is the one a node answers a bad query parameter with; here it is the caller's argument.
    throw new CocoError('InvalidArgument', `${JSON.stringify(text) ?? String(text)} is not a transaction ID; expected "<view>.<seqno>", e.g. "2.15", or { view, seqno }`, { cause });
  }
}

/** A TxID as `<view>.<seqno>`, from a parsed TxID or from text (validated). */
export function txIdText(txId: TxId | string): string {
  // An object is checked too: formatted as it is, {view: -1, seqno: NaN} would read "-1.NaN".
  return formatTxId(parseTxId(typeof txId === 'object' && txId !== null ? formatTxId(txId) : txId));
}

/**
 * The TxID a write's response carried (`response.txId`) or a GovernanceClient's `lastTxId`, for a
 * caller that needs one: CocoError 'MissingTransactionId' when there is none.
 */
export function requireTxId(txId: TxId | undefined): TxId {
  if (txId === undefined) {
    throw new CocoError(
      'MissingTransactionId',
      'no transaction ID: the response had no x-ms-ccf-transaction-id header (does the endpoint answer with one?), or the GovernanceClient has not sent a signed request yet',
    );
  }
  return txId;
}

/**
 * Polls `GET /node/tx` (see requestTxStatus) until the transaction is Committed. Throws CocoError
 * 'TransactionInvalid' when the service reports it Invalid (rolled back by an election), 'Timeout'
 * naming the last status.
 */
export async function waitForCommit(client: CocoClient, txId: TxId | string, options: WaitForCommitOptions = {}): Promise<void> {
  const id = txIdText(txId);
  const timeoutMs = positiveInteger(options.timeoutMs ?? COMMIT_TIMEOUT_MS_DEFAULT, 'timeoutMs');
  const pollIntervalMs = positiveInteger(options.pollIntervalMs ?? COMMIT_POLL_INTERVAL_MS_DEFAULT, 'pollIntervalMs');
  const deadline = Date.now() + timeoutMs;
  let lastStatus: TransactionStatus | 'not yet known' = 'not yet known';
  const timedOut = (cause?: unknown): CocoError =>
    new CocoError('Timeout', `transaction ${id} was not committed within ${timeoutMs} ms; last status ${lastStatus}`, { cause });
  for (;;) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw timedOut();
    let status: TransactionStatus;
    try {
      status = await requestTxStatus(client, id, remainingMs);
    } catch (error) {
      if (error instanceof CocoError && error.code === 'Timeout') throw timedOut(error);
      throw error;
    }
    lastStatus = status;
    if (status === 'Committed') return;
    if (status === 'Invalid') throw transactionInvalid(id);
    options.onProgress?.(status);
    const waitMs = Math.min(pollIntervalMs, deadline - Date.now());
    if (waitMs <= 0) throw timedOut();
    await sleep(waitMs);
  }
}

/**
 * The status of transaction `id` as the client's node gives it: from `GET /node/tx`, or, where the
 * node's interface serves no /node endpoints (CCF's accepted_endpoints: 503 EndpointNotAccepted),
 * from the same endpoint under /gov, then /app.
 */
export async function requestTxStatus(client: CocoClient, id: string, timeoutMs: number, frontends: readonly string[] = ['node', 'gov', 'app']): Promise<TransactionStatus> {
  const [frontend, ...others] = frontends;
  try {
    return transactionStatus((await client.request('GET', `/${frontend}/tx?transaction_id=${id}`, { timeoutMs })).json(), id, client.url);
  } catch (error) {
    if (others.length > 0 && error instanceof CocoRequestError && error.code === 'EndpointNotAccepted') return requestTxStatus(client, id, timeoutMs, others);
    throw error;
  }
}

/**
 * The status in a `GET /tx` answer for transaction `id`; CocoError 'InvalidResponse' when the
 * body has none of CCF's four. `nodeUrl` names the node in that message when several are asked.
 */
export function transactionStatus(body: unknown, id: string, nodeUrl?: string): TransactionStatus {
  const status = (body as { status?: unknown } | null)?.status;
  if (!TRANSACTION_STATUSES.includes(status as TransactionStatus)) {
    const at = nodeUrl === undefined ? '' : ` at ${nodeUrl}`;
    throw new CocoError('InvalidResponse', `GET /tx for ${id}${at} returned status ${JSON.stringify(status)}; expected one of ${TRANSACTION_STATUSES.join(', ')}`);
  }
  return status as TransactionStatus;
}

/** The error for a transaction the service reports Invalid: an election rolled it back. */
export function transactionInvalid(id: string): CocoError {
  return new CocoError('TransactionInvalid', `transaction ${id} is Invalid: it was rolled back and will never commit; submit the request again`);
}

/**
 * Fetches the JSON receipt of a committed transaction from `GET /app/receipt`, waiting as the
 * service's `Retry-After` asks while it answers 202. Throws 'Timeout' when the wait would end
 * after the timeout, CocoRequestError when the service refuses (e.g. the transaction is unknown).
 */
export async function getReceipt(client: CocoClient, txId: TxId | string, options: GetReceiptOptions = {}): Promise<Receipt> {
  const id = txIdText(txId);
  const timeoutMs = positiveInteger(options.timeoutMs ?? RECEIPT_TIMEOUT_MS_DEFAULT, 'timeoutMs');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw new CocoError('Timeout', `no receipt for transaction ${id} within ${timeoutMs} ms`);
    const response = await client.request('GET', `/app/receipt?transaction_id=${id}`, { timeoutMs: remainingMs });
    if (response.status === 200) return response.json<Receipt>();
    if (response.status !== 202) {
      throw new CocoError('InvalidResponse', `GET /app/receipt for ${id} answered ${response.status}; expected 200 with the receipt or 202 to retry`);
    }
    const delayMs = retryAfterMs(response.headers['retry-after']) ?? RECEIPT_RETRY_MS_DEFAULT;
    if (Date.now() + delayMs >= deadline) {
      throw new CocoError('Timeout', `no receipt for transaction ${id} within ${timeoutMs} ms: the service asks to retry after ${delayMs} ms`);
    }
    options.onRetry?.(delayMs);
    await sleep(delayMs);
  }
}

/**
 * Verifies a receipt against the service certificate, judging certificate validity now unless told;
 * with `claimsDigest`, also that its transaction has those claims (see verifyReceipt).
 */
export function verifyReceiptOffline(
  receipt: unknown,
  serviceCertPem: string,
  options: { at?: Date | 'ignore-validity'; claimsDigest?: Uint8Array } = {},
): VerifiedReceipt {
  return verifyReceipt(receipt, serviceCertPem, { ...options, at: options.at ?? new Date() });
}

/**
 * Verifies a COSE receipt (the bytes a node answers with `Accept: application/cose`) against the
 * service certificate, judging its validity now unless told, as verifyReceiptOffline does; with
 * `claimsDigest`, also that its transaction has those claims.
 */
export function verifyCoseReceipt(
  bytes: Uint8Array,
  serviceCertPem: string,
  options: { at?: Date | 'ignore-validity'; claimsDigest?: Uint8Array } = {},
): VerifiedCoseReceipt {
  return verifyCoseReceiptAt(bytes, serviceCertPem, { ...options, at: options.at ?? new Date() });
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
function retryAfterMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * MS_PER_SECOND;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
