// The real CCF ledgers in shared/ccf-ledgers, read once: each chunk's name, bytes and entries.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChunk, parseChunkName, type DecodedChunk } from '../../src/ledger/chunk-file.js';
import { ccfLedgersDir } from './paths.js';

export interface RealChunk {
  ledger: string;
  name: string;
  path: string;
  bytes: Uint8Array;
  decoded: DecodedChunk;
}

export const REAL_LEDGERS = ['genesis-14', 'expired-service'] as const;

export function realLedgerDir(ledger: string): string {
  return join(ccfLedgersDir, ledger);
}

export function realChunks(ledger: string): RealChunk[] {
  const dir = realLedgerDir(ledger);
  return readdirSync(dir)
    .filter((name) => parseChunkName(name) !== undefined)
    .sort((a, b) => parseChunkName(a)!.first - parseChunkName(b)!.first)
    .map((name) => {
      const path = join(dir, name);
      const bytes = new Uint8Array(readFileSync(path));
      return { ledger, name, path, bytes, decoded: decodeChunk(bytes, name) };
    });
}
