// Ledger secret rotation on real nodes in one process (real ledgers on disk, real RSA keys): a
// rekey sends a new secret to every Trusted node, the entries after it are sealed with it and not
// with the old one, backups and joiners read everything, a rolled-back rekey leaves no secret
// behind, and a restarted node takes the secret again from its own ledger.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { fromBase64, fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { rsaOaepDecrypt } from '../../src/crypto/rsa-oaep.js';
import { CocoError } from '../../src/errors.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import type { LedgerEntry } from '../../src/ledger/entry.js';
import { openEntry } from '../../src/ledger/entry-sealing.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { SINGLETON_KEY } from '../../src/ledger/signature.js';
import type { TxId } from '../../src/ledger/tx-id.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { ENCRYPTED_LEDGER_SECRETS_MAP } from '../../src/node/ledger-rekey.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import type { Node } from '../../src/node/node.js';
import { readRecord, writeRecord } from '../support/records.js';
import { InProcessNetwork, type NetworkNode } from '../support/in-process-network.js';


/** Runs a rekey as a governance `apply` would, in a transaction of its own. */
function rekey(node: Node): TxId {
  const { txId } = node.execute((tx) => {
    node.governanceHost().triggerLedgerRekey(tx);
    return { result: undefined, applyWrites: true };
  });
  return txId!;
}

function ledgerEntries(member: NetworkNode): LedgerEntry[] {
  return listChunkFiles(member.ledgerDirectory).flatMap((file) => decodeChunk(new Uint8Array(readFileSync(file.path)), file.name).entries);
}

function secretsOf(member: NetworkNode): LedgerSecrets {
  return member.node.options.ledgerSecrets;
}

test('a rekey sends a new secret to every Trusted node; later entries are sealed with it alone, and every node reads them', async (t) => {
  const network = await InProcessNetwork.start(3, { encryptionKeys: true });
  t.after(() => network.close());
  const primary = network.primary();
  const before = writeRecord(primary.node, 'before', 'sealed with the first secret');
  const rekeyedAt = rekey(primary.node);
  const after = writeRecord(primary.node, 'after', 'sealed with the second secret');
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(after) === 'Committed'));

  const [first, second] = secretsOf(primary).all();
  assert.equal(secretsOf(primary).all().length, 2);
  assert.equal(second!.fromSeqno, rekeyedAt.seqno + 1, 'the new secret applies from the transaction after the rekey');
  assert.notDeepEqual(second!.key, first!.key);
  assert.equal(primary.node.governanceHost().latestLedgerSecretSeqno(), rekeyedAt.seqno + 1);
  for (const member of network.nodes) {
    assert.deepEqual(secretsOf(member).all(), secretsOf(primary).all(), `${member.name} holds the same secrets`);
    assert.equal(readRecord(member.node, 'before'), 'sealed with the first secret');
    assert.equal(readRecord(member.node, 'after'), 'sealed with the second secret');
    assert.deepEqual(member.persistedSecrets.at(-1), secretsOf(primary).all(), `${member.name} asked to keep the new secret`);
  }

  // In the ledger: the rekey itself is sealed with the old secret, the write after it with the new one only.
  const entries = ledgerEntries(primary);
  const at = (seqno: number) => entries.find((e) => e.txId.seqno === seqno)!;
  assert.doesNotThrow(() => openEntry(at(before.seqno), first!.key));
  assert.doesNotThrow(() => openEntry(at(rekeyedAt.seqno), first!.key));
  assert.throws(() => openEntry(at(after.seqno), first!.key), (e: unknown) => e instanceof CocoError && e.code === 'DecryptionFailed');
  const opened = openEntry(at(after.seqno), second!.key);
  assert.equal(fromUtf8(opened.find((m) => m.name === 'records')!.writes[0]!.value), 'sealed with the second secret');

  // The rekey's record, in CCF's shape: one RSA-OAEP copy per Trusted node, readable only with its key.
  const written = at(rekeyedAt.seqno).publicMaps.find((m) => m.name === ENCRYPTED_LEDGER_SECRETS_MAP)!.writes[0]!;
  assert.deepEqual(written.key, SINGLETON_KEY);
  const forNodes = JSON.parse(fromUtf8(written.value)) as Record<string, { version: null; encrypted_secret: string }[]>;
  assert.deepEqual(Object.keys(forNodes).sort(), network.nodes.map((n) => n.node.nodeId).sort());
  for (const member of network.nodes) {
    const [copy] = forNodes[member.node.nodeId]!;
    assert.equal(copy!.version, null);
    assert.deepEqual(rsaOaepDecrypt(member.encryptionKeyPair!.privateKeyPem, fromBase64(copy!.encrypted_secret)), second!.key);
    const other = network.nodes.find((n) => n !== member)!;
    assert.throws(() => rsaOaepDecrypt(other.encryptionKeyPair!.privateKeyPem, fromBase64(copy!.encrypted_secret)), (e: unknown) => e instanceof CocoError && e.code === 'UnwrapFailed');
  }

  // A node joining after the rekey receives both secrets and reads both eras.
  const joiner = await network.join();
  await network.waitFor(() => joiner.node.commitTxId.seqno >= after.seqno);
  assert.equal(readRecord(joiner.node, 'before'), 'sealed with the first secret');
  assert.equal(readRecord(joiner.node, 'after'), 'sealed with the second secret');
});

test('a rekey is refused, writing nothing, while a Trusted node has no encryption key', async (t) => {
  const network = await InProcessNetwork.start(2);
  t.after(() => network.close());
  const primary = network.primary().node;
  const last = primary.lastTxId;
  assert.throws(() => rekey(primary), (e: unknown) => e instanceof CocoError && e.code === 'NodeWithoutEncryptionKey' && /remove_node/.test(e.message));
  assert.deepEqual(primary.lastTxId, last);
  assert.equal(primary.options.ledgerSecrets.all().length, 1);
});

test('a rekey that is rolled back leaves no secret behind, on disk or in memory', async (t) => {
  const network = await InProcessNetwork.start(3, { encryptionKeys: true });
  t.after(() => network.close());
  const old = network.primary();
  network.isolate(old.name);
  rekey(old.node);
  writeRecord(old.node, 'lost', 'sealed with a secret that never committed');
  assert.equal(secretsOf(old).all().length, 2);
  await network.waitFor(() => network.nodes.some((n) => n !== old && n.node.isPrimary));
  const next = network.nodes.find((n) => n !== old && n.node.isPrimary)!;
  const kept = writeRecord(next.node, 'kept', 'sealed with the first secret');

  network.isolate(old.name, false);
  await network.waitFor(() => old.node.status(kept) === 'Committed');
  assert.equal(secretsOf(old).all().length, 1, 'the rolled-back rekey\'s secret is gone');
  assert.deepEqual(old.persistedSecrets.at(-1), secretsOf(old).all(), 'and no longer kept for a restart');
  assert.equal(readRecord(old.node, 'kept'), 'sealed with the first secret');
  assert.equal(readRecord(old.node, 'lost'), undefined);
  // Writes go on after it, readable everywhere.
  const later = writeRecord(next.node, 'later', 'still the first secret');
  await network.waitFor(() => network.nodes.every(({ node }) => node.status(later) === 'Committed'));
  for (const { node } of network.nodes) assert.equal(readRecord(node, 'later'), 'still the first secret');
});

test('a restarted node takes a rekey\'s secret from its own ledger, refuses to go on without it, and drops a secret whose rekey its ledger lacks', async (t) => {
  const network = await InProcessNetwork.start(1, { encryptionKeys: true });
  t.after(() => network.close());
  const member = network.primary();
  const rekeyedAt = rekey(member.node);
  const after = writeRecord(member.node, 'after', 'second era');
  await network.waitFor(() => member.node.status(after) === 'Committed');
  const [first, second] = secretsOf(member).all();

  // Sealed before the rekey: replaying with the node's RSA key recovers the second secret.
  const secrets = new LedgerSecrets([first!]);
  const replayed = replayLedger(member.ledgerDirectory, { nodeId: member.node.nodeId, encryptionPrivateKeyPem: member.encryptionKeyPair!.privateKeyPem, secrets }, network.service.certPem);
  assert.deepEqual(secrets.all(), [first, second]);
  const tx = replayed.store.beginTransaction();
  assert.equal(fromUtf8(tx.map('records').get(utf8('after'))!), 'second era');
  tx.abort();

  // Without the key (or with another node's ID) and without the secret sealed, it cannot go on.
  assert.throws(
    () => replayLedger(member.ledgerDirectory, { nodeId: 'another node', encryptionPrivateKeyPem: member.encryptionKeyPair!.privateKeyPem, secrets: new LedgerSecrets([first!]) }, network.service.certPem),
    (e: unknown) => e instanceof CocoError && e.code === 'LedgerSecretMissing' && e.message.includes(`seqno ${rekeyedAt.seqno}`),
  );

  // A secret sealed for a seqno whose transaction is no rekey came from one that was rolled back.
  const stale = { fromSeqno: after.seqno + 1, key: new Uint8Array(32).fill(7) };
  const withStale = new LedgerSecrets([first!, second!, stale]);
  replayLedger(member.ledgerDirectory, { nodeId: member.node.nodeId, encryptionPrivateKeyPem: member.encryptionKeyPair!.privateKeyPem, secrets: withStale }, network.service.certPem);
  assert.deepEqual(withStale.all(), [first, second]);
});

test('a snapshot taken after a rekey is sealed with the new secret; a node joining from it reads both eras', async (t) => {
  const network = await InProcessNetwork.start(2, { encryptionKeys: true, snapshotTxCount: 20 });
  t.after(() => network.close());
  const primary = network.primary();
  writeRecord(primary.node, 'before', 'first era');
  const rekeyedAt = rekey(primary.node);
  let last: TxId | undefined;
  for (let i = 0; i < 60; i++) last = writeRecord(primary.node, `k${i}`, `second era ${i}`);
  await network.waitFor(() => primary.node.status(last!) === 'Committed' && primary.node.snapshots.latestCommittedName() !== undefined);
  const [first, second] = secretsOf(primary).all();
  const snapshotOf = (secrets: LedgerSecrets) => primary.node.snapshots.loadLatest(network.service.certPem, secrets);
  assert.ok(snapshotOf(secretsOf(primary))!.txId.seqno > rekeyedAt.seqno);
  assert.throws(() => snapshotOf(new LedgerSecrets([first!])), 'the old secret alone cannot open it');

  const joiner = await network.join({ fromSnapshotOf: primary });
  const after = writeRecord(primary.node, 'after', 'the join');
  await network.waitFor(() => joiner.node.status(after) === 'Committed');
  assert.deepEqual(secretsOf(joiner).all(), [first, second]);
  assert.equal(readRecord(joiner.node, 'before'), 'first era');
  assert.equal(readRecord(joiner.node, 'k59'), 'second era 59');
  assert.equal(readRecord(joiner.node, 'after'), 'the join');
});
