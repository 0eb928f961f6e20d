// `coco ledger show <dir>`: prints each transaction's TxID, entry type and public writes and
// removes per map; keys and values as text where they are printable UTF-8, as hex otherwise.

import { fromUtf8, isValidUtf8, toHex } from '../crypto/bytes.js';
import { decodeChunk, type ChunkName } from '../ledger/chunk-file.js';
import { EntryType, type LedgerEntry } from '../ledger/entry.js';
import { formatTxId } from '../ledger/tx-id.js';
import { listChunkFiles } from '../node/ledger-directory.js';
import { readInputFile } from '../node/read-input.js';

export interface LedgerShowOptions {
  directory: string;
  tables?: RegExp | undefined;
  seqno?: number | undefined;
  json: boolean;
  write: (line: string) => void;
}

const DISPLAY_CHARS_MAX = 200;

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

function entryJson(entry: LedgerEntry, tables: RegExp | undefined): Record<string, unknown> {
  return {
    transaction_id: formatTxId(entry.txId),
    entry_type: EntryType[entry.entryType],
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

function entryText(entry: LedgerEntry, tables: RegExp | undefined): string[] {
  const privateNote = entry.encryptedPrivateDomain.length > 0 ? `, ${entry.encryptedPrivateDomain.length} private bytes (encrypted)` : '';
  const lines = [`${formatTxId(entry.txId)}  ${EntryType[entry.entryType]}${privateNote}`];
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

/** Returns the number of transactions shown. */
export function ledgerShow(options: LedgerShowOptions): number {
  let shown = 0;
  for (const file of listChunkFiles(options.directory)) {
    if (options.seqno !== undefined && !chunkMayHold(file.chunk, options.seqno)) continue;
    const { entries } = decodeChunk(readInputFile(file.path, 'ledger chunk'), file.name);
    for (const entry of entries) {
      if (options.seqno !== undefined && entry.txId.seqno !== options.seqno) continue;
      if (options.tables && !entry.publicMaps.some((map) => options.tables!.test(map.name))) continue;
      shown += 1;
      if (options.json) options.write(JSON.stringify(entryJson(entry, options.tables)));
      else for (const line of entryText(entry, options.tables)) options.write(line);
    }
  }
  return shown;
}
