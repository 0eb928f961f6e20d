// The logging app's record endpoints, with CCF's logging sample shapes: POST {id, msg} stores a
// message, GET ?id= returns {msg}, DELETE ?id= removes it, in the private map "records" or the
// public map "public:records"; plus a count of private records and a historical read.

import * as ccfapp from "@microsoft/ccf-app";
import { ccf } from "@microsoft/ccf-app/global.js";
import { errorResponse, type ErrorBody } from "./errors.js";
import { parseId, queryParam, RECORD_ID_MAX } from "./query.js";

interface LogEntry {
  id: number;
  msg: string;
}

type Records = ccfapp.TypedKvMap<number, string>;

const PRIVATE_MAP = "records";
const PUBLIC_MAP = "public:records";

const privateRecords: Records = ccfapp.typedKv(PRIVATE_MAP, ccfapp.uint32, ccfapp.string);
const publicRecords: Records = ccfapp.typedKv(PUBLIC_MAP, ccfapp.uint32, ccfapp.string);

export function postPrivate(request: ccfapp.Request<LogEntry>): ccfapp.Response<boolean | ErrorBody> {
  return post(privateRecords, request);
}

export function getPrivate(request: ccfapp.Request): ccfapp.Response<{ msg: string } | ErrorBody> {
  return get(privateRecords, request);
}

export function deletePrivate(request: ccfapp.Request): ccfapp.Response<boolean | ErrorBody> {
  return remove(privateRecords, request);
}

export function postPublic(request: ccfapp.Request<LogEntry>): ccfapp.Response<boolean | ErrorBody> {
  return post(publicRecords, request);
}

export function getPublic(request: ccfapp.Request): ccfapp.Response<{ msg: string } | ErrorBody> {
  return get(publicRecords, request);
}

export function deletePublic(request: ccfapp.Request): ccfapp.Response<boolean | ErrorBody> {
  return remove(publicRecords, request);
}

export function countPrivate(): ccfapp.Response<number> {
  return { body: privateRecords.size };
}

/** The private message as of the transaction named by the x-ms-ccf-transaction-id header. */
export function getHistoricalPrivate(request: ccfapp.Request): ccfapp.Response<{ msg: string } | ErrorBody> {
  const state = ccf.historicalState;
  if (state === undefined) return errorResponse(500, "InternalError", "no historical state: the endpoint must have mode \"historical\"");
  const map = state.kv[PRIVATE_MAP];
  if (map === undefined) return errorResponse(500, "InternalError", `the historical state has no map ${PRIVATE_MAP}`);
  return get(ccfapp.typedKv(map, ccfapp.uint32, ccfapp.string), request);
}

/** Seqnos one range request may span; ask for longer ranges in parts. */
const RANGE_SEQNOS_MAX = 100;
/** How long the node keeps a range's states for a client that polls for them. */
const RANGE_EXPIRY_SECONDS = 60;

interface RangeEntry {
  seqno: number;
  id: number;
  msg: string;
}

/**
 * The private records written in the committed seqnos from_seqno..to_seqno: `{entries: [{seqno, id,
 * msg}]}`, oldest first. The node reads them back from its ledger: until it has, the answer is 202
 * with Retry-After, and the client asks again.
 */
export function getHistoricalRange(request: ccfapp.Request): ccfapp.Response<{ entries: RangeEntry[] } | ErrorBody> {
  const from = parseSeqno(queryParam(request.query, "from_seqno"));
  const to = parseSeqno(queryParam(request.query, "to_seqno"));
  if (from === undefined || to === undefined || to < from) {
    return errorResponse(400, "InvalidQueryParameterValue", "from_seqno and to_seqno must be seqnos (integers from 1), from_seqno first");
  }
  if (to - from + 1 > RANGE_SEQNOS_MAX) return errorResponse(400, "InvalidQueryParameterValue", `a range spans at most ${RANGE_SEQNOS_MAX} seqnos`);
  const committed = ccf.consensus.getLastCommittedTxId().seqno;
  if (to > committed) return errorResponse(400, "InvalidQueryParameterValue", `seqno ${to} is not committed yet (the last committed is ${committed})`);
  // One handle per range: clients polling for the same range share the states being read back.
  const states = ccf.historical.getStateRange(rangeHandle(from, to), from, to, RANGE_EXPIRY_SECONDS);
  if (states === null) return { statusCode: 202, headers: { "retry-after": "1" } };
  const entries: RangeEntry[] = [];
  for (const state of states) {
    const map = state.kv[PRIVATE_MAP];
    if (map === undefined) return errorResponse(500, "InternalError", `the historical state has no map ${PRIVATE_MAP}`);
    const seqno = Number(state.transactionId.split(".")[1]);
    ccfapp.typedKv(map, ccfapp.uint32, ccfapp.string).forEach((msg, id) => entries.push({ seqno, id, msg }));
  }
  return { body: { entries } };
}

/** A seqno (an integer from 1), or undefined. */
function parseSeqno(value: string | undefined): number | undefined {
  return value !== undefined && /^[1-9]\d{0,14}$/.test(value) ? Number(value) : undefined;
}

/** A handle for a range: a 31-bit hash of its ends. */
function rangeHandle(from: number, to: number): number {
  let hash = 0;
  for (const char of `${from}-${to}`) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash >>> 1;
}

function post(records: Records, request: ccfapp.Request<LogEntry>): ccfapp.Response<boolean | ErrorBody> {
  let entry: unknown;
  try {
    entry = request.body.json();
  } catch {
    return errorResponse(400, "InvalidInput", "the body must be JSON like {\"id\": 42, \"msg\": \"hello\"}");
  }
  if (typeof entry !== "object" || entry === null) return errorResponse(400, "InvalidInput", "the body must be a JSON object with id and msg");
  const { id, msg } = entry as Partial<LogEntry>;
  if (typeof id !== "number" || parseId(id) === undefined) {
    return errorResponse(400, "InvalidInput", `id must be an integer from 0 to ${RECORD_ID_MAX}`);
  }
  if (typeof msg !== "string") return errorResponse(400, "InvalidInput", "msg must be a string");
  records.set(id, msg);
  return { body: true };
}

function get(records: Records, request: ccfapp.Request): ccfapp.Response<{ msg: string } | ErrorBody> {
  const id = parseId(queryParam(request.query, "id"));
  if (id === undefined) return errorResponse(400, "InvalidQueryParameterValue", `query parameter id must be an integer from 0 to ${RECORD_ID_MAX}`);
  const msg = records.get(id);
  if (msg === undefined) return errorResponse(404, "ResourceNotFound", `No such record: ${id}.`);
  return { body: { msg } };
}

function remove(records: Records, request: ccfapp.Request): ccfapp.Response<boolean | ErrorBody> {
  const id = parseId(queryParam(request.query, "id"));
  if (id === undefined) return errorResponse(400, "InvalidQueryParameterValue", `query parameter id must be an integer from 0 to ${RECORD_ID_MAX}`);
  records.delete(id);
  return { body: true };
}
