// `coco ledger fetch`: downloads a service's committed ledger chunks from a node's
// /node/ledger-chunk endpoints (CCF's, on interfaces with LedgerChunkRead), chunk after chunk from
// a seqno, each in ranges and written aside then renamed, so that `coco ledger verify` can audit
// the copy offline (from seqno 1: a later start is told so). The target directory is created only
// once there is a chunk to put in it.

import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadInRanges } from '../client/ranged-download.js';
import { CocoClient, type CocoClientOptions } from '../client/coco-client.js';
import { CocoRequestError } from '../client/request-error.js';
import { CocoError } from '../errors.js';
import { parseChunkName } from '../ledger/chunk-file.js';
import { parseTxId } from '../ledger/tx-id.js';
import { makeDirectory } from '../node/make-directory.js';

export const TRIGGER_LEDGER_CHUNK_PROPOSAL = '{"actions":[{"name":"trigger_ledger_chunk","args":{}}]}';

export interface FetchedLedger {
  /** The chunk files written, in seqno order: at least one. */
  files: string[];
  /** The first seqno fetched: the first of the chunk holding the seqno asked for. */
  firstSeqno: number;
  /** The last seqno fetched. */
  lastSeqno: number;
}

/**
 * Fetches every committed chunk from the one holding `since` on into `directory`. Throws
 * 'ResourceNotFound', saying why, when the node has no committed chunk holding `since`.
 */
export async function ledgerFetch(client: CocoClientOptions, directory: string, since: number, progress: (line: string) => void): Promise<FetchedLedger> {
  const files: string[] = [];
  let firstSeqno: number | undefined;
  let next = since;
  for (;;) {
    let download;
    try {
      download = await downloadInRanges(client, `/node/ledger-chunk?since=${next}`);
    } catch (error) {
      // Each node sent it on to the next: all started from snapshots after that seqno.
      if (error instanceof CocoError && error.code === 'TooManyRedirects' && error.message.includes('round in a circle')) throw await heldByNoNode(client, next, error);
      throw error;
    }
    if (download === undefined) {
      if (firstSeqno === undefined) throw await nothingToFetch(client, since);
      return { files, firstSeqno, lastSeqno: next - 1 };
    }
    const name = download.head.headers['x-ms-ccf-ledger-chunk-name'] ?? '';
    const chunk = parseChunkName(name);
    if (chunk === undefined || !chunk.committed || chunk.suffix !== undefined || chunk.last === undefined || chunk.first > next || chunk.last < next) {
      throw new CocoError('DownloadFailed', `asked for the committed chunk holding seqno ${next}, the node sent ${JSON.stringify(name)}`);
    }
    writeChunk(directory, name, download.bytes);
    files.push(name);
    firstSeqno ??= chunk.first;
    progress(`fetched ${name} (${download.bytes.length} bytes)`);
    next = chunk.last + 1;
  }
}

/**
 * The line that ends a fetch: what it wrote, and how to audit it. `coco ledger verify` needs every
 * chunk from seqno 1, so a fetch that starts later says what to add before it can be verified.
 */
export function fetchedSummary(fetched: FetchedLedger, directory: string): string {
  const what = `fetched ${fetched.files.length} chunk(s), seqno ${fetched.firstSeqno} to ${fetched.lastSeqno}, into ${directory}`;
  if (fetched.firstSeqno === 1) return `${what}; audit them with: coco ledger verify ${directory}`;
  return (
    `${what}. coco ledger verify needs every chunk from seqno 1: to audit them, fetch from seqno 1 (without --since) into ${directory}, ` +
    `or copy the chunks before seqno ${fetched.firstSeqno} there (from a node's ledger directory or a backup of it); then run coco ledger verify ${directory}`
  );
}

function writeChunk(directory: string, name: string, bytes: Uint8Array): void {
  const path = join(directory, name);
  try {
    makeDirectory(directory);
    writeFileSync(`${path}.partial`, bytes);
    renameSync(`${path}.partial`, path);
  } catch (cause) {
    throw new CocoError('WriteFailed', `cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** The ledger from `seqno` on is held by no node of the service: where the nodes' ledgers start, and what to do. */
async function heldByNoNode(options: CocoClientOptions, seqno: number, cause: CocoError): Promise<CocoError> {
  const client = new CocoClient(options);
  let startsAfter = '';
  try {
    const startup = (await client.request('GET', '/node/state')).json<{ startup_seqno?: unknown }>().startup_seqno;
    if (typeof startup === 'number' && startup > 0) startsAfter = ` (${options.url}'s starts after seqno ${startup}: --since ${startup + 1} fetches what it holds)`;
  } catch {
    // The advice stands without the figure.
  } finally {
    client.close();
  }
  return new CocoError(
    'ResourceNotFound',
    `no node of the service holds seqno ${seqno}: each started from a snapshot after it, so their ledgers start later${startsAfter}. ` +
      'The chunks before are only where they were kept: the ledger directories of the nodes that wrote them (retired ones too) or a backup of them; ' +
      'copy those beside the fetched ones for coco ledger verify, which needs every chunk from seqno 1',
    { cause },
  );
}

/** Why the node has no committed chunk holding `since`: the interface serves none, the seqno is not committed yet, or its chunk is still open. */
async function nothingToFetch(options: CocoClientOptions, since: number): Promise<CocoError> {
  const nothing = `${options.url} has no committed ledger chunk from seqno ${since} on`;
  const client = new CocoClient(options);
  try {
    const path = `/node/ledger-chunk?since=${since}`;
    const refusal = CocoRequestError.fromResponse('GET', path, await client.request('GET', path, { allowError: true })).serviceMessage;
    // A Coco node names the operator feature when its interface does not serve chunks at all.
    if (refusal.includes('LedgerChunkRead')) return new CocoError('ResourceNotFound', `${nothing}: ${refusal}`);
    const committed = parseTxId((await client.request('GET', '/node/commit')).json<{ transaction_id: string }>().transaction_id).seqno;
    if (since > committed) return new CocoError('ResourceNotFound', `${nothing}: the service has committed only up to seqno ${committed}`);
    return new CocoError(
      'ResourceNotFound',
      `${nothing}: the chunk holding seqno ${since} is still being written (a chunk closes at ledger.chunk_size, 5 MiB by default, at a snapshot, or when members accept a trigger_ledger_chunk proposal: write ${TRIGGER_LEDGER_CHUNK_PROPOSAL} to FILE, then coco gov propose FILE and coco gov vote ID --accept)`,
    );
  } finally {
    client.close();
  }
}
