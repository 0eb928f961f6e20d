// A restarting node whose state ends before the commit its marker (consensus_state.commit.json)
// names refuses to start: it may have acknowledged those entries as durable, and without them could
// vote for a primary that lacks them. A misspelt ledger.directory used to start it silently from its
// snapshot. The shortfall a kill leaves (entries received but not yet written, in the open chunk) is
// the node's own and does not stop it.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startNodeService } from '../../src/cli/node-service.js';
import { publicKeyId } from '../../src/crypto/entity-id.js';
import { CocoError } from '../../src/errors.js';
import { parseSnapshotFileName } from '../../src/ledger/committed-snapshot.js';
import { CHUNK_HEADER_BYTES } from '../../src/ledger/chunk-file.js';
import { commitMarkerPath, readCommitMarker } from '../../src/node/commit-marker-file.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { readSealedSecrets } from '../../src/node/sealed-secrets.js';
import { editConfig, recordOf, stoppedNode, type StoppedNode } from '../support/stopped-node.js';

const TRANSACTIONS = 25;
const dir = mkdtempSync(join(tmpdir(), 'coco-behind-commit-marker-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function stoppedNodeIn(name: string): Promise<{ node: StoppedNode; nodeDir: string; markerSeqno: number; nodeId: string }> {
  const nodeDir = join(dir, name);
  mkdirSync(nodeDir);
  const node = await stoppedNode(nodeDir, TRANSACTIONS);
  const config = node.config();
  const markerSeqno = readCommitMarker(commitMarkerPath(config.consensusStateFile))!.seqno;
  assert.ok(markerSeqno >= node.written.at(-1)!.seqno, 'the marker names the last commit');
  return { node, nodeDir, markerSeqno, nodeId: publicKeyId(readSealedSecrets(config.sealedSecretsFile)!.nodeKeyPair.publicKeyPem) };
}

/** Starts the node and expects the refusal; a start that wrongly succeeds is stopped, so that the test fails rather than hangs. */
async function refusal(node: StoppedNode): Promise<CocoError> {
  const start = startNodeService(node.config(), node.version);
  start.then((service) => service.stop(), () => undefined);
  const error = await start.then(() => assert.fail('the node started'), (caught: unknown) => caught);
  assert.ok(error instanceof CocoError && error.code === 'LedgerBehindCommitMarker', String(error));
  return error;
}

function remedy(nodeDir: string, nodeId: string): string {
  return (
    'If ledger.directory or ledger.read_only_directories do not name where this node wrote its ledger, correct them and start it again; ' +
    `to start this host afresh instead, move aside ${join(nodeDir, 'sealed_secrets.json')}, its ledger and snapshot directories and the consensus state files beside ${join(nodeDir, 'consensus_state.json')} (this marker among them), ` +
    `join the service as a new node (command.type "Join") and have members remove this one (remove_node ${nodeId})`
  );
}

test('a misspelt ledger.directory is refused, naming the marker, the directory and what the node holds; corrected, the node starts with every transaction', { timeout: 120_000 }, async () => {
  const { node, nodeDir, markerSeqno, nodeId } = await stoppedNodeIn('typo');
  const snapshot = readdirSync(join(nodeDir, 'snapshots')).filter((name) => parseSnapshotFileName(name)?.committed === true).sort((a, b) => parseSnapshotFileName(b)!.seqno - parseSnapshotFileName(a)!.seqno)[0]!;
  const snapshotSeqno = parseSnapshotFileName(snapshot)!.seqno;
  assert.ok(snapshotSeqno < markerSeqno, 'the node committed past its latest snapshot');
  editConfig(node, (json) => (json.ledger = { directory: 'ledgr' }));

  const error = await refusal(node);
  assert.equal(
    error.message,
    `this node's commit marker ${join(nodeDir, 'consensus_state.commit.json')} says it committed up to seqno ${markerSeqno}, but what it holds ends at seqno ${snapshotSeqno}: ` +
      `snapshot ${snapshot} (seqno ${snapshotSeqno}), no ledger chunk in ${join(nodeDir, 'ledgr')} (ledger.directory). ` +
      `It may have acknowledged the entries up to seqno ${markerSeqno} to the primary as durable: without them it could vote for a primary that lacks them, and a committed transaction could be lost. ` +
      remedy(nodeDir, nodeId),
  );

  editConfig(node, (json) => (json.ledger = { directory: 'ledger' }));
  const service = await startNodeService(node.config(), node.version);
  try {
    assert.ok(service.node.lastTxId.seqno >= markerSeqno);
    assert.equal(recordOf(service, TRANSACTIONS - 1), `record ${TRANSACTIONS - 1}`);
  } finally {
    await service.stop();
  }
});

test('a ledger whose last chunks are gone (an older copy) is refused; one whose open chunk lacks what a kill left unwritten starts', { timeout: 120_000 }, async () => {
  const { node, nodeDir, markerSeqno, nodeId } = await stoppedNodeIn('shortened');
  const ledger = join(nodeDir, 'ledger');
  const chunks = listChunkFiles(ledger);
  const open = chunks.at(-1)!;
  assert.equal(open.chunk.last, undefined, 'the node stopped with an open chunk');
  const previous = chunks.at(-2)!;

  // Its open chunk cut back to its header: as a node killed while the entries it had received
  // waited to be written (it never acknowledged them). The restart drops the chunk and starts.
  truncateSync(open.path, CHUNK_HEADER_BYTES);
  const service = await startNodeService(node.config(), node.version);
  try {
    assert.equal(service.node.lastTxId.seqno < markerSeqno, true, 'it resumed short of the marker');
  } finally {
    await service.stop();
  }

  // The chunks after an earlier one gone: the entries the marker names are nowhere to be written.
  const aside = join(nodeDir, 'aside');
  mkdirSync(aside);
  const marker = readCommitMarker(commitMarkerPath(node.config().consensusStateFile))!.seqno;
  for (const file of listChunkFiles(ledger).filter((chunk) => chunk.chunk.first > previous.chunk.first)) renameSync(file.path, join(aside, file.name));
  const kept = listChunkFiles(ledger);
  const error = await refusal(node);
  assert.match(
    error.message,
    new RegExp(
      `^this node's commit marker \\S+ says it committed up to seqno ${marker}, but what it holds ends at seqno ${previous.chunk.last}: ` +
        `snapshot \\S+ \\(seqno ${previous.chunk.last}\\), chunks ${kept[0]!.name} to ${previous.name} in ${ledger} \\(ledger\\.directory\\)\\. `,
    ),
  );
  assert.ok(error.message.endsWith(remedy(nodeDir, nodeId)), error.message);
});

test('a node that lost its ledger and snapshots, given a Join configuration with its sealed secrets, is refused rather than joining again as itself', { timeout: 120_000 }, async () => {
  const { node, nodeDir, markerSeqno, nodeId } = await stoppedNodeIn('rejoin');
  for (const name of ['ledger', 'snapshots']) renameSync(join(nodeDir, name), join(nodeDir, `${name}-lost`));
  // Nothing listens there: a join would be retried for ever.
  editConfig(node, (json) => (json.command = { type: 'Join', service_certificate_file: 'service_cert.pem', join: { target_rpc_address: '127.0.0.1:1', retry_timeout_ms: 100 } }));
  const error = await refusal(node);
  assert.equal(
    error.message,
    `this node's commit marker ${join(nodeDir, 'consensus_state.commit.json')} says it committed up to seqno ${markerSeqno}, but what it holds ends at seqno 0: no ledger chunk in ${join(nodeDir, 'ledger')} (ledger.directory). ` +
      `It may have acknowledged the entries up to seqno ${markerSeqno} to the primary as durable: without them it could vote for a primary that lacks them, and a committed transaction could be lost. ` +
      remedy(nodeDir, nodeId),
  );
});
