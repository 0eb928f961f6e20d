// Memory benchmark: what a node's store holds per key, in one process without HTTP. 100,000 new
// keys of 16 bytes with values of 20 bytes, written as a primary executes them and as a backup
// applies them from the ledger, against the least a JS map of bytes holds (a Map from each key's
// string to a copy of its value) in the same run. Each case runs in a fresh process (see
// memory-case.ts); figures are after full collections.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KEY_BYTES, KEYS, MEMORY_CASES, VALUE_BYTES, type MemoryCase, type MemoryGrowth } from './memory-case.js';
import { progress } from './measure.js';

const RUNS = 3;

const LABELS: Record<MemoryCase, string> = {
  executed: 'store, keys written by transactions (a primary)',
  replicated: 'store, keys applied from decrypted entries (a backup)',
  reference: 'reference: Map of key string to value bytes',
};

function runCase(kind: MemoryCase): MemoryGrowth {
  const script = fileURLToPath(new URL('./memory-case.js', import.meta.url));
  return JSON.parse(execFileSync(process.execPath, ['--expose-gc', script, kind], { encoding: 'utf8' })) as MemoryGrowth;
}

/** The run with the median held bytes of RUNS runs. */
function medianRun(kind: MemoryCase): MemoryGrowth {
  const runs: MemoryGrowth[] = [];
  for (let i = 0; i < RUNS; i++) {
    progress(`memory: ${kind}, run ${i + 1} of ${RUNS}`);
    runs.push(runCase(kind));
  }
  const held = (run: MemoryGrowth) => run.heapBytes + run.arrayBufferBytes;
  return runs.sort((a, b) => held(a) - held(b))[Math.floor(RUNS / 2)] as MemoryGrowth;
}

export async function runMemoryBench(): Promise<string> {
  const results = new Map(MEMORY_CASES.map((kind) => [kind, medianRun(kind)]));
  const perKey = (bytes: number) => Math.round(bytes / KEYS);
  const held = (run: MemoryGrowth) => perKey(run.heapBytes + run.arrayBufferBytes);
  const reference = held(results.get('reference') as MemoryGrowth);
  return [
    `### Memory: bytes held per key, ${KEYS.toLocaleString('en-US')} keys of ${KEY_BYTES} bytes, values of ${VALUE_BYTES} bytes`,
    '',
    '| case | V8 heap | ArrayBuffers | heap + ArrayBuffers | × reference | RSS |',
    '| --- | --- | --- | --- | --- | --- |',
    ...MEMORY_CASES.map((kind) => {
      const run = results.get(kind) as MemoryGrowth;
      return `| ${LABELS[kind]} | ${perKey(run.heapBytes)} | ${perKey(run.arrayBufferBytes)} | ${held(run)} | ${(held(run) / reference).toFixed(2)} | ${perKey(run.rssBytes)} |`;
    }),
    '',
    `Bytes per key after full collections, the median of ${RUNS} runs, each case in a fresh \`node --expose-gc\`; RSS includes the heap's free room; node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
  ].join('\n');
}
