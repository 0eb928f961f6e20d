// Pulls test vectors (certificates, keyed PEM table entries, signature records) out of real CCF
// ledger chunks by scanning their bytes, independently of Coco's own ledger parser, so crypto tests
// can check against what CCF itself wrote. Write-set values are preceded by their u64 LE length.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ccfLedgersDir } from './paths.js';

export function readLedgerChunk(relativePath: string): Buffer {
  return readFileSync(join(ccfLedgersDir, relativePath));
}

/** Every distinct certificate PEM in the chunk, whether stored raw or inside JSON (escaped "\n"). */
export function certificatesIn(chunk: Buffer): string[] {
  const text = chunk.toString('latin1');
  const pattern = /-----BEGIN CERTIFICATE-----(?:\\n|\n)[A-Za-z0-9+/=\\\n]+?-----END CERTIFICATE-----/g;
  const found = new Set<string>();
  for (const [block] of text.matchAll(pattern)) found.add(`${block.replaceAll('\\n', '\n')}\n`);
  return [...found];
}

/** Entries `key (64 hex) -> PEM value` written to a table keyed by entity ID, e.g. members.certs. */
export function pemTableEntries(chunk: Buffer, table: string): { key: string; pem: string }[] {
  const entries: { key: string; pem: string }[] = [];
  const marker = Buffer.from(`${table}\0`, 'latin1');
  for (let at = chunk.indexOf(marker); at !== -1; at = chunk.indexOf(marker, at + 1)) {
    const valueStart = chunk.indexOf('-----BEGIN', at);
    const key = chunk.toString('latin1', valueStart - 8 - 64, valueStart - 8);
    if (!/^[0-9a-f]{64}$/.test(key)) continue;
    const valueLength = Number(chunk.readBigUInt64LE(valueStart - 8));
    entries.push({ key, pem: chunk.toString('utf8', valueStart, valueStart + valueLength) });
  }
  return entries;
}

export interface SignatureRecord {
  cert: string;
  node: string;
  root: string;
  sig: string;
  seqno: number;
}

/** The JSON values written to public:ccf.internal.signatures. */
export function signatureRecords(chunk: Buffer): SignatureRecord[] {
  const records: SignatureRecord[] = [];
  const marker = Buffer.from('public:ccf.internal.signatures\0', 'latin1');
  for (let at = chunk.indexOf(marker); at !== -1; at = chunk.indexOf(marker, at + 1)) {
    const valueStart = chunk.indexOf('{"', at);
    const valueLength = Number(chunk.readBigUInt64LE(valueStart - 8));
    records.push(JSON.parse(chunk.toString('utf8', valueStart, valueStart + valueLength)) as SignatureRecord);
  }
  return records;
}
