// A backup that stopped just as it created a new chunk file (killed, power lost, or a full disk
// between the file's creation and its header) restarts: the chunk, holding no whole entry, is
// deleted with one [warn] line, and the backup takes the entries after its other chunks from the primary.

import assert from 'node:assert/strict';
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import { Node } from '../../src/node/node.js';
import { InProcessNetwork } from '../support/in-process-network.js';
import { writeRecord } from '../support/records.js';

/**
 * Leaves the ledger as a stop right after the next chunk's creation does: an empty `ledger_<first>`
 * after the complete chunks. An open chunk is cut to nothing (its entries come again from the
 * primary); after a complete one, an empty file named for the next seqno is created.
 */
function leaveEmptyOpenChunk(directory: string): string {
  const chunks = readdirSync(directory).flatMap((name) => {
    const chunk = parseChunkName(name);
    return chunk === undefined ? [] : [{ name, chunk }];
  });
  const last = chunks.sort((a, b) => a.chunk.first - b.chunk.first).at(-1)!;
  if (last.chunk.last === undefined) {
    truncateSync(join(directory, last.name), 0);
    return last.name;
  }
  const name = `ledger_${last.chunk.last + 1}`;
  writeFileSync(join(directory, name), new Uint8Array(0));
  return name;
}

test('a backup restarted with an empty open chunk logs one [warn] line naming it, deletes it and catches up from the primary', { timeout: 60_000 }, async (t) => {
  const network = await InProcessNetwork.start(3);
  t.after(() => network.close());
  const primary = network.primary().node;
  const before = writeRecord(primary, 'before', 'v');
  await network.waitFor(() => network.nodes.every(({ node }) => node.commitTxId.seqno >= before.seqno));

  const backup = network.nodes.find(({ node }) => !node.isPrimary)!;
  const { options } = backup.node;
  await backup.node.stop();
  const empty = leaveEmptyOpenChunk(backup.ledgerDirectory);

  const replayed = replayLedger(backup.ledgerDirectory, { nodeId: backup.node.nodeId, encryptionPrivateKeyPem: undefined, secrets: options.ledgerSecrets }, options.service.certPem);
  const logged: string[] = [];
  t.mock.method(console, 'error', (line: string) => void logged.push(line));
  const restarted = new Node({ ...options, start: { kind: 'resume', replayed } });
  t.mock.restoreAll();
  backup.node = restarted;
  const warning = `[warn ] coco node ${restarted.nodeId.slice(0, 12)}: ${empty} holds no whole entry (0 bytes: the node stopped just after creating it): deleted; the node resumes after seqno ${replayed.lastTxId.seqno} and takes the entries after it from the primary`;
  assert.deepEqual(logged.filter((line) => line.includes(empty)).map((line) => line.slice(line.indexOf('[warn'))), [warning]);

  const after = writeRecord(primary, 'after', 'v');
  await network.waitFor(() => restarted.commitTxId.seqno >= after.seqno);
  assert.ok(readdirSync(backup.ledgerDirectory).some((name) => parseChunkName(name)?.first === replayed.lastTxId.seqno + 1), 'the chunk after the kept entries is written again');
});
