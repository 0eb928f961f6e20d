// A restarting node replays the committed chunks its ledger directory lacks from
// ledger.read_only_directories, as CCF's host reads a seqno from its own directory first and then
// from those: chunks an operator moved out to an archive (the ones before the node's latest
// snapshot, or any committed one) stay part of its ledger, and its refusals point there rightly.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startNodeService } from '../../src/cli/node-service.js';
import { CocoError } from '../../src/errors.js';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';
import { editConfig, recordOf, stoppedNode, type StoppedNode } from '../support/stopped-node.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-restart-read-only-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TRANSACTIONS = 45;

/** The node's committed chunks, in seqno order. */
function committedChunks(ledger: string): { name: string; first: number; last: number }[] {
  return readdirSync(ledger)
    .map((name) => ({ name, chunk: parseChunkName(name) }))
    .filter(({ chunk }) => chunk?.committed === true && chunk.suffix === undefined)
    .map(({ name, chunk }) => ({ name, first: chunk!.first, last: chunk!.last! }))
    .sort((a, b) => a.first - b.first);
}

/** A stopped node whose snapshots are moved aside and whose configuration names `archive` (made empty) as read-only. */
async function nodeWithArchive(name: string): Promise<{ node: StoppedNode; ledger: string; archive: string }> {
  const nodeDir = join(dir, name);
  mkdirSync(nodeDir);
  const node = await stoppedNode(nodeDir, TRANSACTIONS);
  const archive = join(nodeDir, 'archive');
  mkdirSync(archive);
  renameSync(join(nodeDir, 'snapshots'), join(nodeDir, 'snapshots-aside'));
  editConfig(node, (json) => (json.ledger = { directory: 'ledger', read_only_directories: ['archive'] }));
  return { node, ledger: join(nodeDir, 'ledger'), archive };
}

/** Starts the node again and checks it holds every transaction, reads those of `archived` back from there, and goes on writing. */
async function startsWithEverything(node: StoppedNode, archived: { first: number; last: number }): Promise<void> {
  const service = await startNodeService(node.config(), node.version);
  try {
    assert.ok(service.node.lastTxId.seqno >= node.written.at(-1)!.seqno, 'the whole ledger is replayed');
    assert.equal(service.node.startupSeqno, 0, 'from seqno 1, with no snapshot');
    for (let i = 0; i < TRANSACTIONS; i++) assert.equal(recordOf(service, i), `record ${i}`, `transaction ${i}`);
    // A historical query of a transaction in an archived chunk reads it back from there.
    const early = node.written.find((txId) => archived.first <= txId.seqno && txId.seqno <= archived.last)!;
    assert.equal(service.node.historical.get(early), undefined, 'the first request starts loading');
    await service.node.historical.settled(early);
    const state = service.node.historical.get(early)!;
    assert.equal(verifyReceipt(state.receipt, service.serviceCertPem, { at: new Date() }).txId, `${early.view}.${early.seqno}`);
    const { txId } = service.node.execute((tx) => {
      tx.map('public:records').set(utf8('after'), utf8('the restart'));
      return { result: undefined, applyWrites: true };
    });
    await service.node.waitForCommit(txId!.seqno);
  } finally {
    await service.stop();
  }
}

test('chunks up to the latest snapshot moved to a read-only directory, snapshots moved aside: the node replays them and starts', { timeout: 120_000 }, async () => {
  const { node, ledger, archive } = await nodeWithArchive('prefix');
  const chunks = committedChunks(ledger);
  const moved = chunks.slice(0, -1);
  for (const chunk of moved) renameSync(join(ledger, chunk.name), join(archive, chunk.name));
  const archivedBytes = moved.map((chunk) => readFileSync(join(archive, chunk.name)));
  await startsWithEverything(node, moved[1]!);
  assert.deepEqual(readdirSync(archive).sort(), moved.map((c) => c.name).sort(), 'the read-only directory is left as it was');
  assert.deepEqual(moved.map((chunk) => readFileSync(join(archive, chunk.name))), archivedBytes);
  assert.ok(moved.every((chunk) => !readdirSync(ledger).includes(chunk.name)), 'nothing is copied into the ledger directory');
});

test('a middle chunk found only in a read-only directory is replayed in its place; one in both directories is read from the ledger directory', { timeout: 120_000 }, async () => {
  const { node, ledger, archive } = await nodeWithArchive('gap');
  const chunks = committedChunks(ledger);
  const middle = chunks[2]!;
  renameSync(join(ledger, middle.name), join(archive, middle.name));
  // A copy of another chunk, damaged: the ledger directory's own one is the one read.
  const copied = readFileSync(join(ledger, chunks[1]!.name));
  copied[Math.floor(copied.length / 2)]! ^= 0x01;
  writeFileSync(join(archive, chunks[1]!.name), copied);
  await startsWithEverything(node, middle);
});

test('a chunk missing from both directories is refused as before, and a damaged chunk of a read-only directory is named with its path', { timeout: 120_000 }, async () => {
  const { node, ledger, archive } = await nodeWithArchive('refused');
  const chunks = committedChunks(ledger);
  const [gone, damaged] = [chunks[1]!, chunks[2]!];
  const held = join(dir, 'refused', 'held');
  mkdirSync(held);
  renameSync(join(ledger, gone.name), join(held, gone.name));
  const refusal = async (): Promise<CocoError> => {
    const start = startNodeService(node.config(), node.version);
    start.then((service) => service.stop(), () => undefined);
    return (await start.then(() => assert.fail('the node started'), (error: unknown) => error)) as CocoError;
  };
  const missing = await refusal();
  assert.equal(missing.code, 'LedgerRefused');
  assert.match(missing.message, new RegExp(`a gap: the previous chunk ended at seqno ${gone.first - 1} .*put back the chunks holding seqno ${gone.first} to ${gone.last} .* into ${ledger} or ledger.read_only_directories`));

  // Put back into the read-only directory, it fills the gap; the damaged chunk after it there is named where it is.
  renameSync(join(held, gone.name), join(archive, gone.name));
  renameSync(join(ledger, damaged.name), join(archive, damaged.name));
  const bytes = readFileSync(join(archive, damaged.name));
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(join(archive, damaged.name), bytes);
  const tampered = await refusal();
  assert.equal(tampered.code, 'LedgerRefused');
  assert.ok(tampered.message.includes(`: ${join(archive, damaged.name)}`), tampered.message);
});
