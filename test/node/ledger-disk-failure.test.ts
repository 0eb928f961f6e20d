// A node whose disk refuses a change to its ledger files stops applying transactions in one place,
// whatever the change and wherever it ran (here a chunk's rename, from the signature timer): one
// [error] line naming the operation, the file and the errno; its host is told; nothing escapes as
// an uncaught exception; requests get NodeFailed.

import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { LedgerDiskError } from '../../src/node/ledger-disk-error.js';
import { startInProcessNode } from '../support/in-process-node.js';

test('a chunk rename the disk refuses, from the signature timer, stops the node with one error line and tells its host', async (t) => {
  let reportFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => (reportFailure = resolve));
  const errorLines: string[] = [];
  t.mock.method(console, 'error', (line: string) => errorLines.push(line));
  const { node, dir, close } = startInProcessNode({ signatureTxCount: 1000, signatureDelayMs: 20, onFailure: (error) => reportFailure(error) });
  t.after(close);

  const { txId } = node.execute((tx) => {
    tx.map('public:records').set(new Uint8Array([1]), new Uint8Array([2]));
    return { result: undefined, applyWrites: true };
  });
  const ledger = join(dir, 'ledger');
  const open = readdirSync(ledger).map(parseChunkName).find((chunk) => chunk !== undefined && chunk.last === undefined)!;
  // The signature due after this write closes the chunk: the name it takes is a directory in the way.
  const completed = `ledger_${open.first}-${txId!.seqno + 1}`;
  mkdirSync(join(ledger, completed, 'in-the-way'), { recursive: true });
  node.requestLedgerChunk();

  const error = await failed;
  assert.ok(error instanceof LedgerDiskError, String(error));
  assert.equal(error.operation, 'rename');
  assert.equal(error.errno, 'EISDIR');
  assert.deepEqual(
    errorLines.filter((line) => line.includes('[error]')).map((line) => line.replace(/^\S+ \[error\] coco node \w+: /, '')),
    [`stopped applying transactions: rename of ${join(ledger, `ledger_${open.first}`)} to ${completed} failed: EISDIR (illegal operation on a directory); fix the disk (space, permissions, file size limit) and restart the node: it resumes from its ledger, committed transactions are kept`],
  );
  assert.equal(node.serving, false);
  assert.throws(() => node.execute(() => ({ result: undefined, applyWrites: false })), { code: 'NodeFailed' });
});
