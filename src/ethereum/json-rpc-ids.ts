// JSON-RPC 2.0 says a response's id is the request's id, and geth echoes it byte for byte. JSON.parse
// makes every number a double, so an id past 2^53 (a Go or Rust client's random u64), `-0` or `1e400`
// would come back as another number, or be refused. This finds the source text of the numeric ids of
// a body JSON.parse accepted, so that they are answered as sent; it is run only when a parsed id
// lost something (see needsIdTexts), so that a usual request is scanned once, by JSON.parse.

/**
 * The source text of the numeric `id` member of the request object (key 0) or of each object of a
 * batch (key: its index), for a body that is valid JSON. The last `id` of an object wins, as in
 * JSON.parse.
 */
export function numericIdTexts(body: string): Map<number, string> {
  const texts = new Map<number, string>();
  // The containers the scan is in; in an object, `expectKey` tells a member's name from its value.
  const frames: { object: boolean; expectKey: boolean }[] = [];
  let batch = false;
  let element = 0;
  let lastKey: string | undefined;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"') {
      const end = stringEnd(body, i);
      const frame = frames.at(-1);
      if (frame?.object === true && frame.expectKey) lastKey = JSON.parse(body.slice(i, end + 1)) as string;
      i = end;
      continue;
    }
    const frame = frames.at(-1);
    if (c === '{' || c === '[') {
      if (frames.length === 0) batch = c === '[';
      frames.push({ object: c === '{', expectKey: c === '{' });
    } else if (c === '}' || c === ']') {
      frames.pop();
    } else if (c === ',') {
      if (frame?.object === true) frame.expectKey = true;
      else if (batch && frames.length === 1) element++;
    } else if (c === ':' && frame !== undefined) {
      frame.expectKey = false;
      // A request object's own member: the top object, or an element of the top array.
      const requestObject = frames.length === (batch ? 2 : 1);
      if (requestObject && lastKey === 'id') {
        const token = /^\s*(-?[0-9][0-9.eE+-]*)/.exec(body.slice(i + 1, i + 1 + 1024));
        if (token !== null) texts.set(batch ? element : 0, token[1]!);
        else texts.delete(batch ? element : 0);
      }
    }
  }
  return texts;
}

/** The index of the quote that closes the JSON string opening at `start`. */
function stringEnd(body: string, start: number): number {
  for (let i = start + 1; i < body.length; i++) {
    if (body[i] === '\\') i++;
    else if (body[i] === '"') return i;
  }
  return body.length;
}

/** Whether a parsed id lost something of its text: a number past 2^53, a fraction, -0, or one too large for a double. */
function lossyId(id: unknown): boolean {
  return typeof id === 'number' && (!Number.isSafeInteger(id) || Object.is(id, -0));
}

/** Whether the parsed request (an object, or a batch of them) holds an id whose text numericIdTexts should find. */
export function needsIdTexts(request: unknown): boolean {
  const requests = Array.isArray(request) ? request : [request];
  return requests.some((r) => typeof r === 'object' && r !== null && lossyId((r as { id?: unknown }).id));
}
