// Serving a node's files (committed snapshots and ledger chunks) the way CCF's node frontend does:
// GET and HEAD, one byte range per request (`Range: bytes=A-B`, `A-` or `-N`, answered 206 with
// Content-Range), on request the whole file's digest (RFC 9530: `Want-Repr-Digest` →
// `Repr-Digest: sha-256=:…:`), and for ledger chunks an ETag with `If-None-Match`. Files are read
// off the event loop; a GET's body is read from the file as it is sent (file-body.ts).

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { RpcRequest, RpcResponse } from './rpc-server.js';
import { RpcError } from './rpc-error.js';
import { FileBody, readAt } from './file-body.js';

/** Bytes [start, end) of a file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** RFC 9530's names for the digests offered, and node:crypto's. */
const DIGESTS = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' } as const;
export type DigestName = keyof typeof DIGESTS;

/** Bytes read at a time while hashing a whole file. */
const DIGEST_READ_BYTES = 1 << 20;

function invalidRange(message: string): RpcError {
  return new RpcError(400, 'InvalidHeaderValue', message);
}

/** The one range `header` asks for in a file of `size` bytes; an end past the file is cut to it, as CCF does. */
export function parseByteRange(header: string, size: number): ByteRange {
  const equals = header.indexOf('=');
  if (equals < 0 || header.slice(0, equals).trim() !== 'bytes') throw invalidRange(`only 'bytes' ranges are supported, got '${header}': send Range: bytes=START-END`);
  const spec = header.slice(equals + 1);
  if (spec.includes(',')) throw invalidRange('multiple ranges are not supported: ask for one range per request');
  const bounds = spec.split('-').map((bound) => bound.trim());
  if (bounds.length !== 2) throw invalidRange(`cannot parse the range in '${header}': expected bytes=START-END, bytes=START- or bytes=-LENGTH`);
  const [first, last] = bounds as [string, string];
  const offset = (text: string, what: string): number => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) throw invalidRange(`cannot parse the ${what} of the range in '${header}'`);
    return value;
  };
  if (first === '') {
    if (last === '') throw invalidRange(`the range in '${header}' has neither a start nor an end`);
    return nonEmpty({ start: Math.max(0, size - offset(last, 'length')), end: size }, header, size);
  }
  const start = offset(first, 'start');
  if (start > size) throw invalidRange(`the range starts at byte ${start}, past the end of the ${size}-byte file`);
  if (last === '') return nonEmpty({ start, end: size }, header, size);
  const end = Math.min(offset(last, 'end') + 1, size);
  if (end < start) throw invalidRange(`the range in '${header}' ends before it starts`);
  return nonEmpty({ start, end }, header, size);
}

/**
 * A range of no bytes (`-0`, or one starting at the end) cannot be answered 206: its Content-Range
 * would end before it starts (CCF sends that). RFC 9110's 416, with the file's size.
 */
function nonEmpty(range: ByteRange, header: string, size: number): ByteRange {
  if (range.end > range.start) return range;
  throw new RpcError(416, 'RangeNotSatisfiable', `the range in '${header}' holds no byte of the ${size}-byte file`, { 'content-range': `bytes */${size}` });
}

/** The digest a `Want-Repr-Digest` header prefers most among those offered; sha-256 when it names none (RFC 9530 allows it). */
export function wantedDigest(header: string): DigestName {
  let best: DigestName = 'sha-256';
  let bestPreference = 0;
  for (const entry of header.split(',')) {
    const [name = '', preference = ''] = entry.split('=').map((part) => part.trim());
    const weight = preference === '' ? 1 : /^[0-9]+$/.test(preference) ? Number(preference) : 0;
    if (name in DIGESTS && weight > bestPreference) {
      best = name as DigestName;
      bestPreference = weight;
    }
  }
  return best;
}

async function fileDigest(file: FileHandle, size: number, name: DigestName): Promise<string> {
  const hash = createHash(DIGESTS[name]);
  const buffer = new Uint8Array(Math.min(size, DIGEST_READ_BYTES));
  for (let position = 0; position < size; position += buffer.length) {
    const piece = buffer.subarray(0, Math.min(buffer.length, size - position));
    await readAt(file, piece, position);
    hash.update(piece);
  }
  return `${name}=:${hash.digest('base64')}:`;
}

/**
 * Answers a GET or HEAD of the file at `path` with `headers` added; `notFound` is thrown when there
 * is no such file (or it was removed meanwhile). A GET's body is a FileBody that owns the file
 * opened here: whoever takes the answer closes it.
 */
export async function serveFile(request: RpcRequest, path: string, headers: Record<string, string>, notFound: () => Error): Promise<RpcResponse> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound();
    throw error;
  }
  let body: FileBody | undefined;
  try {
    const { size } = await file.stat();
    const answerHeaders: Record<string, string> = { ...headers, 'accept-ranges': 'bytes' };
    const rangeHeader = request.method === 'HEAD' ? undefined : request.headers.range;
    const range = rangeHeader === undefined ? { start: 0, end: size } : parseByteRange(rangeHeader, size);
    const want = request.headers['want-repr-digest'];
    if (typeof want === 'string') answerHeaders['repr-digest'] = await fileDigest(file, size, wantedDigest(want));
    if (request.method === 'HEAD') return { headers: answerHeaders, contentLength: size };
    body = new FileBody(file, path, range.start, range.end);
    if (rangeHeader === undefined) return { headers: answerHeaders, body };
    return { status: 206, headers: { ...answerHeaders, 'content-range': `bytes ${range.start}-${range.end - 1}/${size}` }, body };
  } finally {
    if (body === undefined) await file.close();
  }
}

/** The validator `<name>:<hex>` of `body` under digest `name`. */
function entityTag(body: Uint8Array, name: DigestName): string {
  return `${name}:${createHash(DIGESTS[name]).update(body).digest('hex')}`;
}

/** An `If-None-Match` header's entity tags, `'*'`, or undefined when it is malformed (then it is ignored, as CCF does). */
function parseIfNoneMatch(header: string): string[] | '*' | undefined {
  if (header.trim() === '*') return '*';
  const tags: string[] = [];
  for (const item of header.split(',')) {
    const match = /^\s*"([\x21\x23-\x7e]+)"\s*$/.exec(item);
    if (match === null) return undefined;
    tags.push(match[1]!);
  }
  return tags;
}

/**
 * CCF's caching for ledger chunks: a GET's answer carries `ETag: "sha-256:<hex of the body>"`, and
 * an `If-None-Match` naming that tag (or the body's sha-384 or sha-512 tag, or `*`) is answered 304
 * with no body. The body (a FileBody from serveFile) is read into memory first, so that the tag is
 * that of the very bytes sent.
 */
export async function withEntityTag(request: RpcRequest, answer: RpcResponse): Promise<RpcResponse> {
  if (!(answer.body instanceof FileBody)) return answer;
  const body = await answer.body.read();
  const etag = entityTag(body, 'sha-256');
  const headers = { ...answer.headers, etag: `"${etag}"` };
  const header = request.headers['if-none-match'];
  const wanted = typeof header === 'string' ? parseIfNoneMatch(header) : undefined;
  // The other digests are computed only for a client that names tags, and only if sha-256 missed.
  const matched = wanted === '*' || (wanted !== undefined && (wanted.includes(etag) || (['sha-384', 'sha-512'] as const).some((name) => wanted.includes(entityTag(body, name)))));
  return matched ? { status: 304, headers } : { ...answer, headers, body };
}
