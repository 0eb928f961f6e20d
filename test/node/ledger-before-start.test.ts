// What a node's committed chunks before its snapshot tell its consensus agrees with what replaying
// the same ledger finds (signatures, and the configurations the nodes table sets), wherever the
// chunks are kept; chunks that miss a seqno, do not verify, disagree with the snapshot's views or
// end in another configuration are lacking, with a reason the operator can act on.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { createServiceIdentity } from '../../src/node/identities.js';
import { readLedgerBeforeStart, type LedgerBeforeStartSource } from '../../src/node/ledger-before-start.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import { InProcessNetwork } from '../support/in-process-network.js';
import { writeRecord } from '../support/records.js';

/** A two-node service's primary ledger with a committed chunk ending at its latest snapshot, and what a replay of it finds up to there. */
async function ledgerUpToSnapshot(t: TestContext) {
  const network = await InProcessNetwork.start(2, { snapshotTxCount: 20 });
  t.after(() => network.close());
  const primary = network.primary();
  for (let i = 0; i < 60; i++) writeRecord(primary.node, `k${i}`, `v${i}`);
  const secrets = new LedgerSecrets(primary.node.options.ledgerSecrets.all());
  const snapshotSeqno = () => primary.node.snapshots.loadLatest(network.service.certPem, secrets)?.txId.seqno;
  await network.waitFor(() => listChunkFiles(primary.ledgerDirectory).some((file) => file.chunk.committed && file.chunk.last === snapshotSeqno()));
  const startupSeqno = snapshotSeqno()!;
  await primary.node.stop();
  network.nodes.splice(network.nodes.indexOf(primary), 1);
  const { entries } = replayLedger(primary.ledgerDirectory, { nodeId: primary.node.nodeId, encryptionPrivateKeyPem: undefined, secrets }, network.service.certPem);
  const before = entries.filter((entry) => entry.seqno <= startupSeqno);
  const configurations = new Map(before.flatMap((entry) => (entry.configuration === undefined ? [] : [[entry.seqno, entry.configuration] as const])));
  const source: LedgerBeforeStartSource = {
    directories: [primary.ledgerDirectory],
    startupSeqno,
    viewOf: (seqno) => entries[seqno - 1]?.view,
    configuration: [...configurations.values()].at(-1)!,
    serviceCertPem: network.service.certPem,
  };
  const expected = { afterSeqno: 0, signatures: before.filter((entry) => entry.isSignature).map((entry) => entry.seqno), configurations };
  return { source, expected, directory: primary.ledgerDirectory };
}

test('the committed chunks before a snapshot give the signatures and configurations a replay of them finds, from any of the directories', async (t) => {
  const { source, expected, directory } = await ledgerUpToSnapshot(t);
  assert.equal(expected.configurations.size, 2, 'genesis, then the second node');
  assert.deepEqual(await readLedgerBeforeStart(source), { held: expected });

  const readOnly = `${directory}-archive`;
  mkdirSync(readOnly);
  const firstChunk = listChunkFiles(directory)[0]!;
  renameSync(firstChunk.path, join(readOnly, firstChunk.name));
  assert.deepEqual(await readLedgerBeforeStart({ ...source, directories: [directory, readOnly] }), { held: expected }, 'a chunk moved to a read-only directory');

  rmSync(join(readOnly, firstChunk.name));
  assert.deepEqual(await readLedgerBeforeStart({ ...source, directories: [directory, readOnly] }), { lacking: `no committed chunk in ${directory}, ${readOnly} starts at seqno 1` });
});

test('a chunk altered on disk is lacking, named by its path, and never sent', async (t) => {
  const { source, directory } = await ledgerUpToSnapshot(t);
  const second = listChunkFiles(directory)[1]!;
  const bytes = readFileSync(second.path);
  const middle = bytes.length >> 1;
  bytes.writeUInt8(bytes.readUInt8(middle) ^ 1, middle);
  writeFileSync(second.path, bytes);
  const { lacking } = await readLedgerBeforeStart(source);
  assert.match(lacking ?? '', new RegExp(`^${second.path.replaceAll('.', '\\.')} at transaction \\d+\\.\\d+: `));
});

test('chunks that disagree with the snapshot this node started from are lacking, saying how', async (t) => {
  const { source } = await ledgerUpToSnapshot(t);
  const read = async (change: Partial<LedgerBeforeStartSource>) => (await readLedgerBeforeStart({ ...source, ...change })).lacking;
  const otherView = await read({ viewOf: (seqno) => (seqno === 6 ? 99 : source.viewOf(seqno)) });
  assert.match(otherView ?? '', /ledger_\d+-\d+\.committed holds \d+\.6 where the snapshot this node started from records 99\.6: it is not this service's committed ledger$/);
  assert.match((await read({ configuration: ['someone else'] })) ?? '', new RegExp(`^the chunks up to seqno ${source.startupSeqno} trust nodes \\[[0-9a-f, ]+\\], where the snapshot records \\[someone else\\]$`));
  assert.match((await read({ serviceCertPem: createServiceIdentity(new Date(), 1).certPem })) ?? '', /ledger_1-\d+\.committed at transaction \d+\.1: the service identity recorded in the ledger is not the trusted service certificate's key$/);
  assert.equal(await read({ startupSeqno: source.startupSeqno - 1 }), `the entry at seqno ${source.startupSeqno - 1} in ${listChunkFiles(source.directories[0]!).find((f) => f.chunk.last === source.startupSeqno)!.path}, where the snapshot is, is not a signature`);
});
