// `coco ledger fetch`: downloads a service's committed ledger chunks from a node's
// /node/ledger-chunk endpoints (CCF's, on interfaces with LedgerChunkRead), chunk after chunk from
// a seqno, each in ranges and written aside then renamed, so that `coco ledger verify` can audit
// the copy offline.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadInRanges } from '../client/ranged-download.js';
import type { CocoClientOptions } from '../client/coco-client.js';
import { CocoError } from '../errors.js';
import { parseChunkName } from '../ledger/chunk-file.js';

export interface FetchedLedger {
  /** The chunk files written, in seqno order. */
  files: string[];
  /** The last seqno fetched; undefined when the node had no committed chunk from `since` on. */
  lastSeqno: number | undefined;
}

/** Fetches every committed chunk from the one holding `since` on into `directory`. */
export async function ledgerFetch(client: CocoClientOptions, directory: string, since: number, progress: (line: string) => void): Promise<FetchedLedger> {
  mkdirSync(directory, { recursive: true });
  const files: string[] = [];
  let next = since;
  let lastSeqno: number | undefined;
  for (;;) {
    const download = await downloadInRanges(client, `/node/ledger-chunk?since=${next}`);
    if (download === undefined) return { files, lastSeqno };
    const name = download.head.headers['x-ms-ccf-ledger-chunk-name'] ?? '';
    const chunk = parseChunkName(name);
    if (chunk === undefined || !chunk.committed || chunk.suffix !== undefined || chunk.last === undefined || chunk.first > next || chunk.last < next) {
      throw new CocoError('DownloadFailed', `asked for the committed chunk holding seqno ${next}, the node sent ${JSON.stringify(name)}`);
    }
    const path = join(directory, name);
    writeFileSync(`${path}.partial`, download.bytes);
    renameSync(`${path}.partial`, path);
    files.push(name);
    lastSeqno = chunk.last;
    progress(`fetched ${name} (${download.bytes.length} bytes)`);
    next = chunk.last + 1;
  }
}
