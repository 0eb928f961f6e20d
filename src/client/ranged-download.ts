// Downloading a file a node serves (a snapshot, a ledger chunk) in byte ranges, as CCF's joiners
// fetch snapshots: a HEAD (redirects followed) gives its size and where it is, then GETs of at most
// `pieceBytes` each fetch it from there. No single response holds a large state, so none meets the
// client's response size limit, and each piece is checked against the range asked for.

import { CocoError } from '../errors.js';
import { CocoClient, type CocoClientOptions } from './coco-client.js';
import type { CocoResponse } from './coco-response.js';

/** 16 MiB a request: a quarter of the client's default response limit. */
export const DOWNLOAD_PIECE_BYTES_DEFAULT = 16 * 1024 * 1024;

export interface RangedDownload {
  /** The HEAD's answer (its headers name the file), after redirects; its `url` is where the pieces came from. */
  head: CocoResponse;
  bytes: Uint8Array;
}

function failed(url: string, reason: string): CocoError {
  return new CocoError('DownloadFailed', `downloading ${url}: ${reason}; try again`);
}

/**
 * Downloads `path` from the node at `options.url` (or wherever it redirects); undefined when the
 * HEAD answers 404. Any other failure is a CocoError.
 */
export async function downloadInRanges(options: CocoClientOptions, path: string, pieceBytes = DOWNLOAD_PIECE_BYTES_DEFAULT): Promise<RangedDownload | undefined> {
  if (!Number.isSafeInteger(pieceBytes) || pieceBytes < 1) throw new CocoError('InvalidArgument', `pieceBytes must be a positive whole number, got ${pieceBytes}`);
  const asked = new CocoClient(options);
  let head: CocoResponse;
  try {
    head = await asked.request('HEAD', path, { allowError: true });
  } finally {
    asked.close();
  }
  if (head.status === 404) return undefined;
  if (head.status !== 200) throw failed(head.url, `HEAD answered ${head.status}`);
  const size = Number(head.headers['content-length']);
  if (!Number.isSafeInteger(size) || size < 0) throw failed(head.url, `the HEAD gave no usable content-length (${head.headers['content-length']})`);
  const where = new URL(head.url);
  const holder = new CocoClient({ ...options, url: where.origin });
  try {
    const bytes = new Uint8Array(size);
    for (let start = 0; start < size; start += pieceBytes) {
      const last = Math.min(start + pieceBytes, size) - 1;
      const piece = await holder.request('GET', where.pathname, { headers: { range: `bytes=${start}-${last}` }, allowError: true });
      if (piece.status !== 206) throw failed(head.url, `bytes ${start}-${last} answered ${piece.status}`);
      if (piece.headers['content-range'] !== `bytes ${start}-${last}/${size}` || piece.body.length !== last - start + 1) {
        throw failed(head.url, `asked for bytes ${start}-${last} of ${size}, got ${piece.headers['content-range'] ?? 'no content-range'} (${piece.body.length} bytes): the file changed meanwhile`);
      }
      bytes.set(piece.body, start);
    }
    return { head, bytes };
  } finally {
    holder.close();
  }
}
