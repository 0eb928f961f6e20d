// Ledger benchmarks: offline verification throughput over a generated 100,000-transaction ledger
// (read from disk, parsed, leaves hashed, tree rebuilt, every signature checked), against hashing
// the same bytes once (the floor any verifier pays); and Merkle appends against one SHA-256 each.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../src/crypto/hash.js';
import { randomBytes } from '../src/crypto/random.js';
import { decodeChunk } from '../src/ledger/chunk-file.js';
import { LedgerVerifier } from '../src/ledger/ledger-verifier.js';
import { MerkleTree } from '../src/ledger/merkle-tree.js';
import { listChunkFiles } from '../src/node/ledger-directory.js';
import { generateLedger, writeChunks } from '../test/support/generated-ledger.js';
import { bestRate, formatRate, progress, type Rate } from './measure.js';

const TRANSACTIONS = 100_000;
/** Signature intervals: a low-latency service, and CCF's default `ledger_signatures.tx_count`. */
const SIGNATURE_INTERVALS = [100, 5000];
const MERKLE_LEAVES = 1_000_000;
const RUNS = 3;

interface VerifyFigures {
  interval: number;
  entries: number;
  chunks: number;
  megabytes: number;
  verify: Rate;
  hashOnly: Rate;
}

async function measureVerification(signatureInterval: number): Promise<VerifyFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-bench-ledger-'));
  try {
    progress(`generating a ${TRANSACTIONS.toLocaleString('en-US')}-transaction ledger, a signature every ${signatureInterval}`);
    const generated = generateLedger({ transactions: TRANSACTIONS, signatureInterval, privateValueBytes: 64 });
    writeChunks(dir, generated.chunks);
    const files = listChunkFiles(dir);
    const entries = generated.writer.lastTxId.seqno;
    progress('measuring: read, parse and hash every entry once (reference)');
    const hashOnly = bestRate(RUNS, entries, () => {
      for (const file of files) {
        for (const entry of decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries) sha256(entry.raw);
      }
    });
    progress('measuring: full verification');
    const verify = bestRate(RUNS, entries, () => {
      const verifier = new LedgerVerifier({ trustedServiceCertPem: generated.identity.serviceCertPem });
      for (const file of files) verifier.addChunk(file.name, new Uint8Array(readFileSync(file.path)));
      verifier.finish();
    });
    const megabytes = generated.chunks.reduce((sum, c) => sum + c.bytes.length, 0) / 1e6;
    return { interval: signatureInterval, entries, chunks: files.length, megabytes, verify, hashOnly };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function measureMerkleAppends(): { appends: Rate; sha: Rate } {
  progress(`measuring: ${MERKLE_LEAVES.toLocaleString('en-US')} Merkle appends`);
  const leaves = Array.from({ length: 1024 }, () => randomBytes(32));
  const pair = new Uint8Array(64);
  const sha = bestRate(RUNS, MERKLE_LEAVES, () => {
    for (let i = 0; i < MERKLE_LEAVES; i++) sha256(pair);
  });
  const appends = bestRate(RUNS, MERKLE_LEAVES, () => {
    const tree = new MerkleTree();
    for (let i = 0; i < MERKLE_LEAVES; i++) tree.append(leaves[i & 1023]!);
    tree.root();
  });
  return { appends, sha };
}

export async function runLedgerBench(): Promise<string> {
  const rows: string[] = [];
  for (const interval of SIGNATURE_INTERVALS) {
    const f = await measureVerification(interval);
    rows.push(
      `| verify: entries/s, a signature every ${f.interval} (${f.entries.toLocaleString('en-US')} entries, ${f.chunks} chunks, ${f.megabytes.toFixed(1)} MB) ` +
        `| ${formatRate(f.verify)} | read + parse + SHA-256 of each entry: ${formatRate(f.hashOnly)} | ${(f.verify.perSecond / f.hashOnly.perSecond).toFixed(2)} |`,
    );
  }
  const { appends, sha } = measureMerkleAppends();
  rows.push(`| Merkle tree appends/s | ${formatRate(appends)} | one SHA-256 of 64 bytes: ${formatRate(sha)}/s | ${(appends.perSecond / sha.perSecond).toFixed(2)} |`);
  return [
    '### Ledger',
    '',
    '| measure | rate | reference in the same run | ratio |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    `Best of ${RUNS} runs; node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ].join('\n');
}
