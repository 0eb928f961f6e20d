// Reads the record id from a request's query string ("id=42"): QuickJS has no URLSearchParams. The
// framework has already percent-decoded the query (CCF does so), so it is only split here.

/** The value of `name` in `query`, or undefined when absent. */
export function queryParam(query: string, name: string): string | undefined {
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    const key = equals < 0 ? pair : pair.slice(0, equals);
    if (key === name) return equals < 0 ? "" : pair.slice(equals + 1);
  }
  return undefined;
}

/** Largest id: records are keyed by uint32. */
export const RECORD_ID_MAX = 4294967295;

/** A record id (an integer from 0 to RECORD_ID_MAX), or undefined. */
export function parseId(value: unknown): number | undefined {
  const id = typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : value;
  return typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= RECORD_ID_MAX ? id : undefined;
}
