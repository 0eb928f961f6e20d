// `coco ledger show <dir>`: prints each transaction's TxID, entry type and public writes and
// removes per map; keys and values as text where they are printable UTF-8, as hex otherwise. As
// CCF's read_ledger.py, it verifies the ledger as it reads it (`coco ledger verify`'s checks) and
// stops at the first failure, unless asked not to; transactions no signature covers are marked.

import { fromUtf8, isValidUtf8, toHex } from '../crypto/bytes.js';
import { decodeChunk, type ChunkName } from '../ledger/chunk-file.js';
import { EntryType, type LedgerEntry } from '../ledger/entry.js';
import { SIGNATURES_MAP, singletonWrite } from '../ledger/signature.js';
import { formatTxId } from '../ledger/tx-id.js';
import { listChunkFiles } from '../node/ledger-directory.js';
import { readInputFile } from '../node/read-input.js';
import { ledgerVerify, summaryNotes } from './ledger-verify.js';

export interface LedgerShowOptions {
  directory: string;
  tables?: RegExp | undefined;
  seqno?: number | undefined;
  json: boolean;
  /** Verify the whole ledger while showing it (throws LedgerVerificationError where it fails). */
  verify: boolean;
  write: (line: string) => void;
  /** Where the verification's notes go (transactions not yet signed), after what was shown. */
  note: (line: string) => void;
}

/** Whether a signature covers the transaction (one verified, itself or a later one); unknown when not verifying. */
type Signed = boolean | undefined;

const DISPLAY_CHARS_MAX = 200;

/** How the text output marks a transaction no signature covers. */
export const UNSIGNED_MARK = '[NOT SIGNED: no signature covers it]';

type Rendered = { utf8: string } | { hex: string };

function isPrintable(bytes: Uint8Array): boolean {
  if (!isValidUtf8(bytes)) return false;
  // Control characters other than tab and newlines would garble a terminal.
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(fromUtf8(bytes));
}

function render(bytes: Uint8Array): Rendered {
  return isPrintable(bytes) ? { utf8: fromUtf8(bytes) } : { hex: toHex(bytes) };
}

function display(bytes: Uint8Array): string {
  const rendered = render(bytes);
  const text = 'utf8' in rendered ? JSON.stringify(rendered.utf8) : `0x${rendered.hex}`;
  return text.length <= DISPLAY_CHARS_MAX ? text : `${text.slice(0, DISPLAY_CHARS_MAX)}… (${bytes.length} bytes)`;
}

function entryJson(entry: LedgerEntry, tables: RegExp | undefined, signed: Signed): Record<string, unknown> {
  return {
    transaction_id: formatTxId(entry.txId),
    entry_type: EntryType[entry.entryType],
    ...(signed !== undefined && { signed }),
    flags: entry.flags,
    private_domain_bytes: entry.encryptedPrivateDomain.length,
    maps: entry.publicMaps
      .filter((map) => !tables || tables.test(map.name))
      .map((map) => ({
        name: map.name,
        writes: map.writes.map((w) => ({ key: render(w.key), value: render(w.value) })),
        removes: map.removes.map((key) => render(key)),
      })),
  };
}

function entryText(entry: LedgerEntry, tables: RegExp | undefined, signed: Signed): string[] {
  const privateNote = entry.encryptedPrivateDomain.length > 0 ? `, ${entry.encryptedPrivateDomain.length} private bytes (encrypted)` : '';
  const unsignedNote = signed === false ? `  ${UNSIGNED_MARK}` : '';
  const lines = [`${formatTxId(entry.txId)}  ${EntryType[entry.entryType]}${privateNote}${unsignedNote}`];
  for (const map of entry.publicMaps) {
    if (tables && !tables.test(map.name)) continue;
    lines.push(`  ${map.name}`);
    for (const write of map.writes) lines.push(`    write  ${display(write.key)} = ${display(write.value)}`);
    for (const key of map.removes) lines.push(`    remove ${display(key)}`);
  }
  return lines;
}

function chunkMayHold(chunk: ChunkName, seqno: number): boolean {
  return chunk.first <= seqno && (chunk.last === undefined || seqno <= chunk.last);
}

/**
 * Returns the number of transactions shown. Verifying, each is shown once the signature that
 * covers it verified (a signature transaction once its own did), in order: the transactions after
 * the last signature are then shown marked as not signed, and a note counts them. As with CCF's
 * read_ledger.py, what precedes a failure is shown (what no signature covered marked so), the
 * failure ends the output.
 */
export function ledgerShow(options: LedgerShowOptions): number {
  let shown = 0;
  const wanted = (entry: LedgerEntry): boolean =>
    (options.seqno === undefined || entry.txId.seqno === options.seqno) && (!options.tables || entry.publicMaps.some((map) => options.tables!.test(map.name)));
  const show = (entry: LedgerEntry, signed: Signed): void => {
    shown += 1;
    if (options.json) options.write(JSON.stringify(entryJson(entry, options.tables, signed)));
    else for (const line of entryText(entry, options.tables, signed)) options.write(line);
  };
  if (options.verify) {
    // What waits for its signature: at most the transactions between two signatures (those shown).
    let waiting: LedgerEntry[] = [];
    const release = (signed: boolean): void => {
      for (const entry of waiting) show(entry, signed);
      waiting = [];
    };
    let summary;
    try {
      summary = ledgerVerify({ directory: options.directory }, (entry) => {
        const isSignature = singletonWrite(entry.publicMaps, SIGNATURES_MAP) !== undefined;
        if (isSignature) release(true);
        if (!wanted(entry)) return;
        if (isSignature) show(entry, true);
        else waiting.push(entry);
      });
    } finally {
      release(false);
    }
    for (const { label, text } of summaryNotes(summary)) options.note(`${label}: ${text}`);
    return shown;
  }
  for (const file of listChunkFiles(options.directory)) {
    if (options.seqno !== undefined && !chunkMayHold(file.chunk, options.seqno)) continue;
    for (const entry of decodeChunk(readInputFile(file.path, 'ledger chunk'), file.name).entries) {
      if (wanted(entry)) show(entry, undefined);
    }
  }
  return shown;
}
