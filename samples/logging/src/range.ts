// The logging app's historical range endpoints, answered as CCF's logging sample answers them:
// GET /app/log/{private,public}/historical/range?id=N[&from_seqno=A][&to_seqno=B] returns
// {"entries": [{seqno, id, msg}], "@nextLink"?}: the writes of record N in the committed seqnos A..B
// (A is 1 and B the record's last write unless given), read back with ccf.historical.getStateRange
// a page of seqnos at a time; "@nextLink" names the rest while there is more. Until the node has read
// a page back the answer is 202 with Retry-After, and the client asks again.

import * as ccfapp from "@microsoft/ccf-app";
import { ccf } from "@microsoft/ccf-app/global.js";
import { errorResponse, type ErrorBody } from "./errors.js";
import { parseId, queryParam, RECORD_ID_MAX } from "./query.js";
import { PRIVATE_MAP, PUBLIC_MAP, recordsOf } from "./records.js";

/**
 * Seqnos one page covers, both ends included: CCF's sample's (2,000 before a page outlasted its
 * election timeout). Here a 2,000-seqno page took 266-437 ms of the 500 ms a sandbox handler may
 * run; a 500-seqno page takes 66-158 ms (README.md).
 */
const RANGE_PAGE_SEQNOS = 500;
/** How long the node keeps a page's states for a client that polls for them (CCF's sample's). */
const RANGE_EXPIRY_SECONDS = 1800;

interface RangeEntry {
  seqno: number;
  id: number;
  msg: string;
}

interface RangePage {
  entries: RangeEntry[];
  "@nextLink"?: string;
}

type RangeResponse = ccfapp.Response<RangePage | ErrorBody | string>;

export function getHistoricalRangePrivate(request: ccfapp.Request): RangeResponse {
  return historicalRange(request, PRIVATE_MAP, "/app/log/private/historical/range");
}

export function getHistoricalRangePublic(request: ccfapp.Request): RangeResponse {
  return historicalRange(request, PUBLIC_MAP, "/app/log/public/historical/range");
}

function historicalRange(request: ccfapp.Request, map: string, path: string): RangeResponse {
  const id = parseId(queryParam(request.query, "id"));
  if (id === undefined) return errorResponse(400, "InvalidQueryParameterValue", `query parameter id must be an integer from 0 to ${RECORD_ID_MAX}`);
  const from = seqnoParam(request.query, "from_seqno", () => 1);
  if (typeof from === "string") return errorResponse(400, "InvalidQueryParameterValue", from);
  // The record's last write, or (never written, or deleted since) every committed seqno.
  const to = seqnoParam(request.query, "to_seqno", () => recordsOf(map).getVersionOfPreviousWrite(id) ?? ccf.consensus.getLastCommittedTxId().seqno);
  if (typeof to === "string") return errorResponse(400, "InvalidQueryParameterValue", to);
  if (to < from) return errorResponse(400, "InvalidInput", `Invalid range: Starts at ${from} but ends at ${to}`);
  const uncommitted = refuseUncommitted(to);
  if (uncommitted !== undefined) return uncommitted;

  const end = Math.min(to, from + RANGE_PAGE_SEQNOS - 1);
  const handle = rangeHandle(from, end, id);
  const states = ccf.historical.getStateRange(handle, from, end, RANGE_EXPIRY_SECONDS);
  if (states === null) return notYetAvailable(from, end);
  const entries: RangeEntry[] = [];
  for (const state of states) {
    const historical = state.kv[map];
    // A transaction that wrote no record has no such map: nothing of it to report.
    const msg = historical === undefined ? undefined : recordsOf(historical).get(id);
    if (msg !== undefined) entries.push({ seqno: Number(state.transactionId.split(".")[1]), id, msg });
  }
  const page: RangePage = { entries };
  if (end < to) {
    // The next page starts loading now, so that following the link finds it sooner.
    const next = end + 1;
    const nextEnd = Math.min(to, next + RANGE_PAGE_SEQNOS - 1);
    ccf.historical.getStateRange(rangeHandle(next, nextEnd, id), next, nextEnd, RANGE_EXPIRY_SECONDS);
    page["@nextLink"] = `${path}?from_seqno=${next}&to_seqno=${to}&id=${id}`;
  }
  // The client has what it asked for: the node need not keep these states for it.
  ccf.historical.dropCachedStates(handle);
  return { body: page };
}

/** The seqno a query parameter gives (`fallback()` when absent), or the message saying it is none. */
function seqnoParam(query: string, name: string, fallback: () => number): number | string {
  const value = queryParam(query, name);
  if (value === undefined) return fallback();
  return /^[1-9]\d{0,14}$/.test(value) ? Number(value) : `query parameter ${name} must be a seqno (an integer from 1), got "${value}"`;
}

/**
 * Only committed seqnos can be read back. One this node has but not committed yet (a lagging
 * backup's, say) will be shortly: the client is asked to retry, as while a page loads. One the node
 * does not know is refused in the words of CCF's historical queries, with their code.
 */
function refuseUncommitted(seqno: number): RangeResponse | undefined {
  const view = ccf.consensus.getViewForSeqno(seqno);
  const status = view === null ? "Unknown" : ccf.consensus.getStatusForTxId(view, seqno);
  if (status === "Committed") return undefined;
  if (status === "Pending") {
    return { statusCode: 202, headers: { "retry-after": "1" }, body: `Transaction ${view}.${seqno} is not committed on this node yet; ask again shortly` };
  }
  const committed = ccf.consensus.getLastCommittedTxId().seqno;
  const txId = view === null ? `at seqno ${seqno}` : `${view}.${seqno}`;
  return errorResponse(
    404,
    status === "Invalid" ? "TransactionInvalid" : "TransactionPendingOrUnknown",
    `Only committed transactions can be queried. Transaction ${txId} is ${status} (this node has committed up to seqno ${committed})`,
  );
}

/** CCF's sample's answer while the node reads a page back. */
function notYetAvailable(from: number, end: number): RangeResponse {
  return { statusCode: 202, headers: { "retry-after": "1" }, body: `Historical transactions from ${from} to ${end} are not yet available, fetching now` };
}

/** A handle for one page of one record's range: the first 32 bits of a SHA-256 of its ends and id, as CCF's sample makes it. */
function rangeHandle(from: number, end: number, id: number): number {
  const digest = ccf.crypto.digest("SHA-256", ccf.strToBuf(`${from}-${end}-${id}`));
  return new DataView(digest).getUint32(0);
}
