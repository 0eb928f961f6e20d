// Replaying a node's ledger with read-only directories (CCF's ledger.read_only_directories): the
// committed chunks the ledger directory lacks are replayed from there, but stay outside the chunks
// the node takes over as its own files. A chunk the node cannot read is refused naming it, not left out.
// A replay in turns (a recovery's private replay) lets the event loop run between chunks, up to a seqno.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { parseChunkName } from '../../src/ledger/chunk-file.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { LedgerVerificationError } from '../../src/ledger/ledger-verifier.js';
import { replayLedger, replayLedgerInTurns } from '../../src/node/ledger-replay.js';
import { generateLedger, writeChunks } from '../support/generated-ledger.js';

const generated = generateLedger({ transactions: 60, signatureInterval: 10, chunkBytesTarget: 2000 });
const committed = generated.chunks.filter((chunk) => parseChunkName(chunk.name)?.committed === true);
const lastSeqno = parseChunkName(committed.at(-1)!.name)!.last!;
const receiver = () => ({ nodeId: 'replaying', encryptionPrivateKeyPem: undefined, secrets: new LedgerSecrets([{ fromSeqno: 1, key: generated.ledgerSecret }]) });

function directories(t: { after(fn: () => void): void }): { own: string; archive: string } {
  const own = mkdtempSync(join(tmpdir(), 'coco-replay-own-'));
  const archive = mkdtempSync(join(tmpdir(), 'coco-replay-archive-'));
  t.after(() => [own, archive].forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  writeChunks(own, committed);
  return { own, archive };
}

test('chunks only in a read-only directory, before the first own chunk and between two, are replayed but not taken over as the node\'s files', (t) => {
  assert.ok(committed.length >= 4, `${committed.length} chunks`);
  const { own, archive } = directories(t);
  const moved = [committed[0]!, committed[2]!];
  for (const chunk of moved) renameSync(join(own, chunk.name), join(archive, chunk.name));
  assert.throws(() => replayLedger(own, receiver(), generated.identity.serviceCertPem), LedgerVerificationError, 'without the read-only directory');

  const replayed = replayLedger(own, receiver(), generated.identity.serviceCertPem, undefined, [archive]);
  assert.equal(replayed.lastTxId.seqno, lastSeqno);
  assert.equal(replayed.committedSeqno, lastSeqno);
  assert.deepEqual(
    replayed.chunks.map((chunk) => chunk.name),
    committed.filter((chunk) => !moved.includes(chunk)).map((chunk) => chunk.name),
  );
  const tx = replayed.store.beginTransaction();
  for (const i of [0, 30, 59]) assert.equal(fromUtf8(tx.map('public:records').get(utf8(String(i)))!), `public message ${i}`);
  tx.abort();
});

test('a last committed chunk left only in a read-only directory, with a torn chunk after it, is refused: the node appends after a chunk of its own', (t) => {
  const { own, archive } = directories(t);
  const last = committed.at(-1)!;
  renameSync(join(own, last.name), join(archive, last.name));
  writeFileSync(join(own, `ledger_${lastSeqno + 1}`), new Uint8Array(3));
  assert.throws(
    () => replayLedger(own, receiver(), generated.identity.serviceCertPem, undefined, [archive]),
    (error: unknown) => {
      assert.ok(error instanceof CocoError && error.code === 'LedgerRefused', String(error));
      assert.ok(error.message.startsWith(`${join(archive, last.name)} holds the last whole entries of this node's ledger (ledger_${lastSeqno + 1}, after it in ${own}, holds none)`), error.message);
      assert.ok(error.message.endsWith(`move ${last.name} back into ${own}`), error.message);
      return true;
    },
  );
});

/** Asserts that `replay` refuses the chunk at `path` as unreadable (FileUnreadable naming it and the errno), not as damaged. */
function refusesAsUnreadable(replay: () => unknown, path: string, errno: string): void {
  assert.throws(replay, (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'FileUnreadable', String(error));
    assert.ok(error.message.startsWith(`cannot read ledger chunk ${path}: ${errno} (`), error.message);
    assert.match(error.message, /; make it a file the node's user can read \(its owner, its permissions, the disk\) and restart the node$/);
    return true;
  });
}

test('a chunk the node cannot read at a restart (a directory in its place), open or complete, is refused naming it, not left out as torn', (t) => {
  const { own } = directories(t);
  const open = join(own, `ledger_${lastSeqno + 1}`);
  mkdirSync(open);
  refusesAsUnreadable(() => replayLedger(own, receiver(), generated.identity.serviceCertPem), open, 'EISDIR');
  rmSync(open, { recursive: true });

  const complete = join(own, committed[1]!.name);
  rmSync(complete);
  mkdirSync(complete);
  refusesAsUnreadable(() => replayLedger(own, receiver(), generated.identity.serviceCertPem), complete, 'EISDIR');
});

test('a chunk whose permissions the node\'s user lacks is refused naming it and EACCES', { skip: process.getuid?.() === 0 && 'run as root, which reads a file whatever its mode' }, (t) => {
  const { own } = directories(t);
  const chunk = join(own, committed.at(-1)!.name);
  chmodSync(chunk, 0o000);
  refusesAsUnreadable(() => replayLedger(own, receiver(), generated.identity.serviceCertPem), chunk, 'EACCES');
});

test('a replay in turns gives the event loop a turn after each chunk, reads no chunk after applyUpTo, and replays what replayLedger does', async (t) => {
  const { own } = directories(t);
  const upTo = parseChunkName(committed[committed.length - 2]!.name)!.last!;
  // The last chunk, unreadable: a replay that read it would fail.
  writeFileSync(join(own, committed.at(-1)!.name), new Uint8Array(3));
  let turns = 0;
  let counting = true;
  const count = (): void => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const replayed = await replayLedgerInTurns(own, receiver(), generated.identity.serviceCertPem, undefined, [], { applyUpTo: upTo });
  counting = false;
  assert.ok(turns >= 2, `the event loop ran ${turns} time(s) during a replay of ${committed.length - 1} chunks`);
  assert.equal(replayed.lastTxId.seqno, upTo);
  const whole = replayLedger(own, receiver(), generated.identity.serviceCertPem, undefined, [], { applyUpTo: upTo });
  const [a, b] = [replayed, whole].map((r) => r.store.beginTransaction());
  for (let i = 0; i < 60; i++) assert.deepEqual(a!.map('public:records').get(utf8(String(i))), b!.map('public:records').get(utf8(String(i))));
  a!.abort();
  b!.abort();
});

test("another service's ledger is refused as such, not as a damaged chunk: its genesis records another identity (QA)", (t) => {
  const { own } = directories(t);
  const other = generateLedger({ transactions: 3, signatureInterval: 10, chunkBytesTarget: 2000 });
  assert.throws(
    // The node's own secret and certificate (another service's), the ledger of this one.
    () => replayLedger(own, { ...receiver(), secrets: new LedgerSecrets([{ fromSeqno: 1, key: other.ledgerSecret }]) }, other.identity.serviceCertPem),
    (error: unknown) => error instanceof LedgerVerificationError && /does not decrypt with its ledger secret, and the service identity recorded in the ledger is not the trusted service certificate's key: ledger\.directory holds another service's ledger/.test(error.message),
  );
  // The right certificate, but a secret that does not open the entry: named as before.
  assert.throws(
    () => replayLedger(own, { ...receiver(), secrets: new LedgerSecrets([{ fromSeqno: 1, key: other.ledgerSecret }]) }, generated.identity.serviceCertPem),
    (error: unknown) => error instanceof LedgerVerificationError && /the entry does not decrypt with its ledger secret: it was altered, or sealed with a secret this node does not hold$/.test(error.message),
  );
});
