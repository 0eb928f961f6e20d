// The logging app's records: messages by id (a uint32), in the private map "records" or the public
// map "public:records", as in CCF's logging sample; shared by the record and range endpoints.

import * as ccfapp from "@microsoft/ccf-app";

export type Records = ccfapp.TypedKvMap<number, string>;

export const PRIVATE_MAP = "records";
export const PUBLIC_MAP = "public:records";

/** The records of a map, by its name in the current transaction or as a historical state's map. */
export function recordsOf(map: string | ccfapp.KvMap): Records {
  return ccfapp.typedKv(map, ccfapp.uint32, ccfapp.string);
}
