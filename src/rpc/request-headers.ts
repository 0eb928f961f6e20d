// A request's headers as CCF's HTTP parser keeps them: names lower-cased, and of a name sent more
// than once (in any case) the first value only (http_parser.h emplaces each header into a map).
// Node's own `headers` joins most repeats with ", " instead: the app, the authentication policies
// and the built-in endpoints all read this one map, so that they cannot see different values.

export type RequestHeaders = Readonly<Record<string, string>>;

/** The headers of Node's `rawHeaders` (name, value, name, value, ...). */
export function requestHeaders(rawHeaders: readonly string[]): RequestHeaders {
  // No prototype: a header may be called `__proto__` or `constructor`.
  const headers = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!(name in headers)) headers[name] = rawHeaders[i + 1]!;
  }
  return headers;
}
