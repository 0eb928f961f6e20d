// The logging app's record endpoints, with CCF's logging sample shapes: POST {id, msg} stores a
// message, GET ?id= returns {msg}, DELETE ?id= removes it, in the private map "records" or the
// public map "public:records"; plus a count of private records and a historical read (ranges of
// past writes are in range.ts).

import * as ccfapp from "@microsoft/ccf-app";
import { ccf } from "@microsoft/ccf-app/global.js";
import { errorResponse, type ErrorBody } from "./errors.js";
import { parseId, queryParam, RECORD_ID_MAX } from "./query.js";
import { PRIVATE_MAP, PUBLIC_MAP, recordsOf, type Records } from "./records.js";

interface LogEntry {
  id: number;
  msg: string;
}

const privateRecords = recordsOf(PRIVATE_MAP);
const publicRecords = recordsOf(PUBLIC_MAP);

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
  return get(recordsOf(map), request);
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
