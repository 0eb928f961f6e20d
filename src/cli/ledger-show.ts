// `coco ledger show <dir>`: prints each transaction's TxID, entry type and public writes and
// removes per map; keys and values as text where they are printable UTF-8, as hex otherwise. As
// CCF's read_ledger.py, it verifies the ledger as it reads it (`coco ledger verify`'s checks) and
// stops at the first failure, unless asked not to.

import { fromUtf8, isValidUtf8, toHex } from '../crypto/bytes.js';
import { decodeChunk, type ChunkName } from '../ledger/chunk-file.js';
import { EntryType, type LedgerEntry } from '../ledger/entry.js';
import { formatTxId } from '../ledger/tx-id.js';
import { listChunkFiles } from '../node/ledger-directory.js';
import { readInputFile } from '../node/read-input.js';
import { ledgerVerify } from './ledger-verify.js';

export interface LedgerShowOptions {
  directory: string;
  tables?: RegExp | undefined;
  seqno?: number | undefined;
  json: boolean;
  /** Verify the whole ledger while showing it (throws LedgerVerificationError where it fails). */
  verify: boolean;
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

/**
 * Returns the number of transactions shown. Verifying, each is shown as the verifier hands it,
 * before the signature that covers it is checked: as with CCF's read_ledger.py, what precedes a
 * failure is shown, the failure ends the output.
 */
export function ledgerShow(options: LedgerShowOptions): number {
  let shown = 0;
  const show = (entry: LedgerEntry): void => {
    if (options.seqno !== undefined && entry.txId.seqno !== options.seqno) return;
    if (options.tables && !entry.publicMaps.some((map) => options.tables!.test(map.name))) return;
    shown += 1;
    if (options.json) options.write(JSON.stringify(entryJson(entry, options.tables)));
    else for (const line of entryText(entry, options.tables)) options.write(line);
  };
  if (options.verify) {
    ledgerVerify({ directory: options.directory }, show);
    return shown;
  }
  for (const file of listChunkFiles(options.directory)) {
    if (options.seqno !== undefined && !chunkMayHold(file.chunk, options.seqno)) continue;
    decodeChunk(readInputFile(file.path, 'ledger chunk'), file.name).entries.forEach(show);
  }
  return shown;
}
