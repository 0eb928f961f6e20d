// A response of a Coco (or CCF) service as the client SDK hands it out: status, lower-case headers,
// the whole body as bytes, and the TxID of `x-ms-ccf-transaction-id` when the service sent one.
// A malformed TxID header or a body that is not the JSON asked for is a CocoError 'InvalidResponse'.

import type { IncomingHttpHeaders } from 'node:http';
import { fromUtf8, isValidUtf8 } from '../crypto/bytes.js';
import { CocoError } from '../errors.js';
import { parseTxId, type TxId } from '../ledger/tx-id.js';

export const TRANSACTION_ID_HEADER = 'x-ms-ccf-transaction-id';

export interface CocoResponse {
  status: number;
  /** Header names in lower case; repeated headers joined by ", ". */
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
  /** The URL that answered: the one asked, or where redirects led. */
  url: string;
  txId?: TxId;
  /** The body parsed as JSON (CocoError 'InvalidResponse' if it is not). */
  json<T = unknown>(): T;
  /** The body as UTF-8 text (CocoError 'InvalidResponse' if it is not). */
  text(): string;
}

/** The CCF error (`{"error": {"code", "message"}}`) of an answer, if its body is one. */
export function errorOf(response: CocoResponse): { code?: string; message?: string } | undefined {
  try {
    return response.json<{ error?: { code?: string; message?: string } }>().error;
  } catch {
    return undefined;
  }
}

export function createResponse(status: number, rawHeaders: IncomingHttpHeaders, body: Uint8Array, url: string): CocoResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const txIdText = headers[TRANSACTION_ID_HEADER];
  let txId: TxId | undefined;
  if (txIdText !== undefined) {
    try {
      txId = parseTxId(txIdText);
    } catch (cause) {
      throw new CocoError('InvalidResponse', `the service sent a malformed ${TRANSACTION_ID_HEADER} header ${JSON.stringify(txIdText.slice(0, 40))}; expected "<view>.<seqno>"`, { cause });
    }
  }
  const text = (): string => {
    if (!isValidUtf8(body)) throw new CocoError('InvalidResponse', `the ${status} response body is not UTF-8 text (${body.length} bytes)`);
    return fromUtf8(body);
  };
  const json = <T>(): T => {
    const bodyText = text();
    try {
      return JSON.parse(bodyText) as T;
    } catch (cause) {
      throw new CocoError('InvalidResponse', `the ${status} response body is not JSON: ${JSON.stringify(bodyText.slice(0, 80))}`, { cause });
    }
  };
  return txId === undefined ? { status, headers, body, url, json, text } : { status, headers, body, url, txId, json, text };
}
