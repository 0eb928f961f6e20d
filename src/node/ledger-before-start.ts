// The ledger a node holds before the snapshot it started from, read for its consensus: which entries
// are signatures and which set a configuration, so that a primary sends them to a backup lagging
// from before that snapshot as it sends the entries it compacted (CCF's host reads them from its
// ledger files whatever it started from). A configuration is the Trusted nodes of the nodes table,
// which only the ledger from seqno 1 builds: the committed chunks must hold every entry up to the
// snapshot, verify as the service's ledger (so that a backup is sent nothing it would refuse), and
// agree with the views and the configuration the snapshot records.

import { readFile } from 'node:fs/promises';
import type { LedgerBeforeBase } from '../consensus/raft-log.js';
import { fromUtf8 } from '../crypto/bytes.js';
import { decodeJson, Tables, type NodeInfo } from '../governance/builtin-tables.js';
import type { LedgerEntry } from '../ledger/entry.js';
import { LedgerVerificationError, LedgerVerifier } from '../ledger/ledger-verifier.js';
import { SIGNATURES_MAP, singletonWrite } from '../ledger/signature.js';
import { formatTxId } from '../ledger/tx-id.js';
import { listChunkFiles, type ChunkFile, type CommittedChunkDirectories } from './ledger-directory.js';
import { sameNodes } from './service-nodes.js';

/** What a node's ledger holds before its snapshot: all consensus needs, or why not (for the operator). */
export type LedgerBeforeStart = { held: LedgerBeforeBase; lacking?: never } | { held?: never; lacking: string };

export interface LedgerBeforeStartSource {
  directories: CommittedChunkDirectories;
  /** The seqno of the snapshot the node started from. */
  startupSeqno: number;
  /** The view of each seqno up to it, as the snapshot's view history gives them. */
  viewOf: (seqno: number) => number | undefined;
  /** The Trusted nodes the snapshot records: the configuration the ledger must end in. */
  configuration: readonly string[];
  /** The service identity the ledger must verify against. */
  serviceCertPem: string;
}

/** The committed chunks that hold seqnos 1 to `upTo` one after the other (those of the first directory first), or why there are none. */
function chunksFromOne(directories: CommittedChunkDirectories, upTo: number): ChunkFile[] | string {
  const committed = directories.flatMap((directory) => listChunkFiles(directory, { allowEmpty: true }).filter((file) => file.chunk.committed));
  const chunks: ChunkFile[] = [];
  for (let next = 1; next <= upTo; next = chunks.at(-1)!.chunk.last! + 1) {
    const file = committed.find(({ chunk }) => chunk.first === next);
    if (file === undefined) return `no committed chunk in ${directories.join(', ')} starts at seqno ${next}`;
    chunks.push(file);
  }
  return chunks;
}

/** Runs a step of the verifier over `file`, whose failure names the file by its path (it may be in a read-only directory). */
function verifiedIn<T>(file: ChunkFile, step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (!(error instanceof LedgerVerificationError) || error.file !== file.name) throw error;
    throw error.with({ file: file.path });
  }
}

/** Follows the Trusted nodes through the nodes table's writes, from an empty table. */
class TrustedNodes {
  private readonly statuses = new Map<string, boolean>();
  current: string[] = [];

  /** The configuration `entry` sets, when it changes the Trusted nodes. */
  apply(entry: LedgerEntry): string[] | undefined {
    const nodes = entry.publicMaps.find((map) => map.name === Tables.nodesInfo);
    if (nodes === undefined) return undefined;
    for (const { key, value } of nodes.writes) this.statuses.set(fromUtf8(key), decodeJson<NodeInfo>(value, Tables.nodesInfo).status === 'Trusted');
    for (const key of nodes.removes) this.statuses.delete(fromUtf8(key));
    const trusted = [...this.statuses].filter(([, isTrusted]) => isTrusted).map(([id]) => id).sort();
    if (sameNodes(trusted, this.current)) return undefined;
    this.current = trusted;
    return trusted;
  }
}

/**
 * Reads the committed chunks of `source.directories` up to the snapshot the node started from. Any
 * failure (a file missing, unreadable, damaged or of another history) is `lacking`, in words for
 * the operator: the node then cannot send those entries, and says so.
 */
export async function readLedgerBeforeStart(source: LedgerBeforeStartSource): Promise<LedgerBeforeStart> {
  const { startupSeqno, viewOf } = source;
  try {
    const chunks = chunksFromOne(source.directories, startupSeqno);
    if (typeof chunks === 'string') return { lacking: chunks };
    const signatures: number[] = [];
    const configurations = new Map<number, readonly string[]>();
    const trusted = new TrustedNodes();
    // Only the last signature's ECDSA signatures are checked (by `finish`): its root covers the rest.
    const verifier = new LedgerVerifier({ trustedServiceCertPem: source.serviceCertPem, signatures: 'last' });
    let otherView: string | undefined;
    for (const file of chunks) {
      const bytes = new Uint8Array(await readFile(file.path));
      verifiedIn(file, () =>
        verifier.addChunk(file.name, bytes, (entry) => {
          const { seqno, view } = entry.txId;
          if (seqno > startupSeqno || otherView !== undefined) return;
          if (view !== viewOf(seqno)) otherView = `${file.path} holds ${formatTxId(entry.txId)} where the snapshot this node started from records ${viewOf(seqno)}.${seqno}: it is not this service's committed ledger`;
          if (singletonWrite(entry.publicMaps, SIGNATURES_MAP) !== undefined) signatures.push(seqno);
          const configuration = trusted.apply(entry);
          if (configuration !== undefined) configurations.set(seqno, configuration);
        }),
      );
      if (otherView !== undefined) return { lacking: otherView };
    }
    verifiedIn(chunks.at(-1)!, () => verifier.finish());
    if (signatures.at(-1) !== startupSeqno) return { lacking: `the entry at seqno ${startupSeqno} in ${chunks.at(-1)!.path}, where the snapshot is, is not a signature` };
    if (!sameNodes(trusted.current, source.configuration)) {
      return { lacking: `the chunks up to seqno ${startupSeqno} trust nodes [${trusted.current.join(', ')}], where the snapshot records [${source.configuration.join(', ')}]` };
    }
    return { held: { afterSeqno: 0, signatures, configurations } };
  } catch (error) {
    return { lacking: (error as Error).message };
  }
}
