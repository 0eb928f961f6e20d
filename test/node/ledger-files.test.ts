import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { toHex } from '../../src/crypto/bytes.js';
import { decodeChunk, parseChunkName } from '../../src/ledger/chunk-file.js';
import { LedgerSecrets } from '../../src/ledger/ledger-secrets.js';
import { LedgerVerificationError, LedgerVerifier } from '../../src/ledger/ledger-verifier.js';
import type { AppendResult, LedgerWriter } from '../../src/ledger/ledger-writer.js';
import { formatTxId } from '../../src/ledger/tx-id.js';
import { LedgerDiskError } from '../../src/node/ledger-disk-error.js';
import { LedgerFiles } from '../../src/node/ledger-files.js';
import { listChunkFiles } from '../../src/node/ledger-directory.js';
import { replayLedger } from '../../src/node/ledger-replay.js';
import { verifySnapshotFile, type LoadedSnapshot } from '../../src/node/snapshot-directory.js';
import { snapshotService, type SnapshotService } from '../ledger/snapshot-fixture.js';
import { appWriteSet, genesisWriteSet, identity, makeWriter, SECRETS } from '../ledger/writer-fixture.js';

function tempDirectory(t: TestContext): string {
  const directory = mkdtempSync(join(tmpdir(), 'coco-ledger-files-'));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

/**
 * Appends to both the writer and the files, one entry per character of `plan`: `t` a transaction
 * (genesis first), `s` a signature, `S` a signature that closes its chunk.
 */
function drive(writer: LedgerWriter, files: LedgerFiles, plan: string, label = ''): AppendResult[] {
  const results: AppendResult[] = [];
  for (const step of plan) {
    const seqno = writer.lastTxId.seqno + 1;
    let result: AppendResult;
    if (step === 't') {
      result = writer.appendTransaction(seqno === 1 ? genesisWriteSet() : appWriteSet(`${label}${seqno}`));
    } else {
      if (step === 'S') writer.requestChunk();
      result = writer.appendSignature(1_700_000_000 + seqno);
    }
    files.append(result);
    results.push(result);
  }
  return results;
}

/** Truncates the files, then the writer with what the files report. */
function truncateBoth(writer: LedgerWriter, files: LedgerFiles, seqno: number, lastSignatureSeqno: number): number {
  const openChunkBytes = files.truncate(seqno);
  writer.truncate(seqno, { lastSignatureSeqno, openChunkBytes });
  return openChunkBytes;
}

interface FileSummary {
  name: string;
  seqnos: number[];
  complete: boolean;
}

/**
 * The chunk files on disk, each decoded and checked against its name as CCF names chunks:
 * `ledger_<first>-<last>[.committed]` complete with exactly those entries, `ledger_<first>` open.
 */
function onDisk(directory: string): FileSummary[] {
  const names = readdirSync(directory)
    .filter((name) => parseChunkName(name) !== undefined)
    .sort((a, b) => parseChunkName(a)!.first - parseChunkName(b)!.first);
  return names.map((name) => {
    const decoded = decodeChunk(new Uint8Array(readFileSync(join(directory, name))), name);
    const seqnos = decoded.entries.map((e) => e.txId.seqno);
    const chunk = parseChunkName(name)!;
    assert.equal(seqnos[0], chunk.first, `${name} starts at its first seqno`);
    seqnos.forEach((seqno, i) => assert.equal(seqno, chunk.first + i, `${name} holds consecutive seqnos`));
    assert.equal(decoded.complete, chunk.last !== undefined, `${name}: a positions table exactly when the name has a last seqno`);
    if (chunk.last !== undefined) assert.equal(seqnos.at(-1), chunk.last, `${name} ends at its last seqno`);
    return { name, seqnos, complete: decoded.complete };
  });
}

function layout(directory: string): string[] {
  return onDisk(directory).map((f) => `${f.name}:${f.seqnos.join(',')}`);
}

/** Verifies the directory's ledger (signatures, tree, chunk names) as CCF's tools would. */
function verifyDirectory(directory: string): string {
  const verifier = new LedgerVerifier({ trustedServiceCertPem: identity.serviceCertPem });
  for (const file of onDisk(directory)) verifier.addChunk(file.name, new Uint8Array(readFileSync(join(directory, file.name))));
  return formatTxId(verifier.finish().lastVerifiedTxId!);
}

const bytesOf = (results: readonly AppendResult[]) => results.reduce((sum, r) => sum + r.entry.length, 0);

test('a write that fails while syncing (a full disk) rejects the sync rather than throwing', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  const writer = makeWriter();
  drive(writer, files, 'ts');
  await files.sync();
  drive(writer, files, 'tt');
  // What a full disk does to the next write, short of filling one: the write fails.
  const open = (files as unknown as { open: { fd: number } }).open;
  closeSync(open.fd);
  let synced: Promise<void> | undefined;
  assert.doesNotThrow(() => (synced = files.sync()));
  await assert.rejects(synced!, { code: 'LedgerWriteFailed', operation: 'write', errno: 'EBADF' });
});

test('a change the system refuses throws LedgerWriteFailed naming the operation, the file and the errno', (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  const writer = makeWriter();
  drive(writer, files, 'ts');
  // The name the completed chunk takes is a directory that is not empty: the rename fails, as on an immutable directory.
  mkdirSync(join(directory, 'ledger_1-4', 'in-the-way'), { recursive: true });
  assert.throws(() => drive(writer, files, 'tS'), (error: unknown) => {
    assert.ok(error instanceof LedgerDiskError, String(error));
    assert.equal(error.code, 'LedgerWriteFailed');
    assert.equal(error.operation, 'rename');
    assert.equal(error.errno, 'EISDIR');
    assert.match(error.message, new RegExp(`^rename of ${join(directory, 'ledger_1')} to ledger_1-4 failed: EISDIR \\(illegal operation on a directory\\); fix the disk`));
    return true;
  });
});

test('truncate within the open chunk drops written and pending entries, and appends continue after it', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  const kept = drive(writer, files, 'tstt');
  await files.sync();
  drive(writer, files, 'ts');
  // Entries 5 and 6 are still pending: never written to disk.
  assert.equal(truncateBoth(writer, files, 4, 2), bytesOf(kept));
  await assert.rejects(files.readEntry(5), { name: 'CocoError', code: 'TransactionPendingOrUnknown' });
  assert.deepEqual(layout(directory), ['ledger_1:1,2,3,4']);

  await files.sync();
  drive(writer, files, 't', 'x');
  await files.sync();
  drive(writer, files, 't', 'y');
  // Entry 6 is pending, entry 5 written: both go.
  assert.equal(truncateBoth(writer, files, 4, 2), bytesOf(kept));
  assert.deepEqual(layout(directory), ['ledger_1:1,2,3,4']);

  const fresh = drive(writer, files, 'ts', 'new');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1:1,2,3,4,5,6']);
  assert.equal(toHex((await files.readEntry(5)).bytes), toHex(fresh[0]!.entry));
  assert.equal(toHex((await files.readEntry(6)).bytes), toHex(fresh[1]!.entry));
  assert.equal(toHex((await files.readEntry(3)).bytes), toHex(kept[2]!.entry));
  assert.equal(verifyDirectory(directory), '2.6');

  // Written entries cut with nothing pending: the next entries go where the kept ones end.
  drive(writer, files, 'tt', 'z');
  await files.sync();
  truncateBoth(writer, files, 6, 6);
  drive(writer, files, 'ts', 'after');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1:1,2,3,4,5,6,7,8']);
  assert.equal(verifyDirectory(directory), '2.8');
});

test('truncate into a completed chunk turns it back into the open chunk and deletes the chunks after it', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  const results = drive(writer, files, 'tstS' + 'ttS' + 'tst');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-4:1,2,3,4', 'ledger_5-7:5,6,7', 'ledger_8:8,9,10']);

  assert.equal(truncateBoth(writer, files, 3, 2), bytesOf(results.slice(0, 3)));
  assert.deepEqual(layout(directory), ['ledger_1:1,2,3']);
  await assert.rejects(files.readEntry(4), { name: 'CocoError', code: 'TransactionPendingOrUnknown' });

  const fresh = drive(writer, files, 'tSt', 'new');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-5:1,2,3,4,5', 'ledger_6:6']);
  assert.equal(toHex((await files.readEntry(4)).bytes), toHex(fresh[0]!.entry));
  assert.equal(toHex((await files.readEntry(6)).bytes), toHex(fresh[2]!.entry));
  assert.equal(verifyDirectory(directory), '2.5');
});

test('entries read back in a range stop at the end of the chunk holding the first, pending ones included', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const results = drive(makeWriter(), files, 'tstS' + 'ttS' + 'tt');
  // Entries 8 and 9 are still pending in the open chunk: a read writes them out first.
  assert.deepEqual((await files.readEntries(2, 6)).map(toHex), results.slice(1, 4).map((r) => toHex(r.entry)), 'up to the end of ledger_1-4');
  assert.deepEqual((await files.readEntries(5, 99)).map(toHex), results.slice(4, 7).map((r) => toHex(r.entry)));
  assert.deepEqual((await files.readEntries(8, 9)).map(toHex), results.slice(7, 9).map((r) => toHex(r.entry)));
  await assert.rejects(files.readEntries(10, 12), { name: 'CocoError', code: 'TransactionPendingOrUnknown' });
  // Committed chunks keep no offsets in memory: their positions tables are read from the files.
  await files.sync();
  files.markCommitted(7);
  assert.deepEqual(layout(directory).slice(0, 2), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-7.committed:5,6,7']);
  assert.deepEqual((await files.readEntries(3, 9)).map(toHex), results.slice(2, 4).map((r) => toHex(r.entry)));
  assert.deepEqual((await files.readEntries(6, 7)).map(toHex), results.slice(5, 7).map((r) => toHex(r.entry)));
  assert.equal(toHex((await files.readEntry(1)).bytes), toHex(results[0]!.entry));
});

test('truncate at the end of a chunk deletes every later chunk and leaves no chunk open', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  drive(writer, files, 'tS' + 'tS' + 'tS' + 'tt');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-2:1,2', 'ledger_3-4:3,4', 'ledger_5-6:5,6', 'ledger_7:7,8']);
  assert.equal(truncateBoth(writer, files, 2, 2), 0);
  assert.deepEqual(layout(directory), ['ledger_1-2:1,2']);
  drive(writer, files, 'ts', 'new');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-2:1,2', 'ledger_3:3,4']);
  assert.equal(verifyDirectory(directory), '2.4');
  // Truncating to 0 deletes everything; the ledger starts again at seqno 1.
  assert.equal(truncateBoth(writer, files, 0, 0), 0);
  assert.deepEqual(layout(directory), []);
  drive(writer, files, 'ts', 'again');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1:1,2']);
  assert.equal(verifyDirectory(directory), '2.2');
});

test('truncate at or after the last entry changes nothing', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  const results = drive(writer, files, 'tStt');
  assert.equal(files.truncate(4), bytesOf(results.slice(2)));
  assert.equal(files.truncate(9), bytesOf(results.slice(2)));
  assert.throws(() => files.truncate(-1), { name: 'CocoError', code: 'InvalidArgument' });
  assert.throws(() => files.truncate(2.5), { name: 'CocoError', code: 'InvalidArgument' });
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-2:1,2', 'ledger_3:3,4']);
});

test('a sync or a read in flight across a truncation settles on what the ledger holds after it', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  drive(writer, files, 'tS' + 'tt');
  const sync = files.sync();
  const read = files.readEntry(4);
  // The open chunk (3, 4) goes, its fd closed under the sync; entry 4 is written anew.
  truncateBoth(writer, files, 2, 2);
  const [replacement] = drive(writer, files, 'tt', 'new').slice(1);
  await sync;
  assert.equal(toHex((await read).bytes), toHex(replacement!.entry));
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-2:1,2', 'ledger_3:3,4']);
});

test('truncating committed entries throws InternalError and leaves the files as they were', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  drive(writer, files, 'tstS' + 'tst' + 't');
  await files.sync();
  files.markCommitted(4);
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5:5,6,7,8']);
  for (const seqno of [0, 3]) assert.throws(() => files.truncate(seqno), { name: 'CocoError', code: 'InternalError' });
  files.markCommitted(6);
  assert.throws(() => files.truncate(5), { name: 'CocoError', code: 'InternalError' });
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5:5,6,7,8']);
  truncateBoth(writer, files, 6, 6);
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5:5,6']);
});

test('an append that does not follow the last entry is refused', (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const writer = makeWriter();
  const [first, second] = [writer.appendTransaction(genesisWriteSet()), writer.appendSignature(1)];
  second!.closesChunk = true;
  files.append(first);
  files.append(second!);
  const third = writer.appendTransaction(appWriteSet('3'));
  assert.throws(() => files.append({ ...third, txId: { view: 2, seqno: 4 } }), { name: 'CocoError', code: 'InternalError' });
  files.append({ txId: third.txId, entry: third.entry, closesChunk: false });
});

/** Replays `directory` as a restarting node would, holding `secrets` (the first ledger secret by default). */
function replay(directory: string, secrets = [SECRETS[0]!], snapshot?: LoadedSnapshot) {
  return replayLedger(directory, { nodeId: 'replaying', encryptionPrivateKeyPem: undefined, secrets: new LedgerSecrets(secrets) }, identity.serviceCertPem, snapshot);
}

/**
 * Writes a ledger with a closed LedgerFiles, then replays it as a restarting node does. One secret:
 * a replay takes a second only from a rekey transaction (test/node/ledger-rekey.test.ts).
 */
function writeAndReplay(directory: string, plan: string) {
  const files = new LedgerFiles(directory);
  const results = drive(makeWriter({ secrets: new LedgerSecrets([SECRETS[0]!]) }), files, plan);
  files.close();
  return { results, replayed: replay(directory) };
}

test('resume with a partial commit: committed chunks renamed, later ones kept, the last one open again', async (t) => {
  const directory = tempDirectory(t);
  // Entry 10 follows the last signature: replay drops it.
  const { results, replayed } = writeAndReplay(directory, 'tstS' + 'ttS' + 'tst');
  assert.equal(replayed.lastTxId.seqno, 9);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  const openChunkBytes = files.resume(replayed.chunks, 4);
  assert.equal(openChunkBytes, bytesOf(results.slice(7, 9)));
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-7:5,6,7', 'ledger_8:8,9']);
  assert.equal(toHex((await files.readEntry(9)).bytes), toHex(results[8]!.entry));

  const writer = makeWriter({
    resume: { tree: replayed.tree, seqno: 9, signatureSeqno: 9, chunkBytes: openChunkBytes, views: replayed.views },
  });
  assert.deepEqual(writer.lastTxId, { view: 2, seqno: 9 });
  drive(writer, files, 'tS', 'after restart');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-7:5,6,7', 'ledger_8-11:8,9,10,11']);
  assert.equal(verifyDirectory(directory), '2.11');

  // The uncommitted chunks can still be rolled back, the committed one not.
  assert.throws(() => files.truncate(3), { name: 'CocoError', code: 'InternalError' });
  truncateBoth(writer, files, 6, 4);
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5:5,6']);
  files.markCommitted(6);
  drive(writer, files, 'S', 'again');
  files.markCommitted(7);
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-7.committed:5,6,7']);
  assert.equal(verifyDirectory(directory), '2.7');
});

test('resume with everything committed commits the complete chunks and keeps the last one open, as a single node restarts', (t) => {
  const directory = tempDirectory(t);
  // Entries 7 and 8 follow the last signature: replay drops them.
  const { results, replayed } = writeAndReplay(directory, 'tstS' + 'ts' + 'tt');
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  assert.equal(files.resume(replayed.chunks, replayed.lastTxId.seqno), bytesOf(results.slice(4, 6)));
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5:5,6']);
  assert.equal(verifyDirectory(directory), '2.6');
});

/** The chunk files of `directory`, by name, with their bytes in hex: what two nodes' ledgers are compared by. */
function chunkFiles(directory: string): Record<string, string> {
  const names = readdirSync(directory).filter((name) => parseChunkName(name) !== undefined);
  return Object.fromEntries(names.sort().map((name) => [name, toHex(readFileSync(join(directory, name)))]));
}

interface Restart {
  /** Entries the restarted node wrote before it stopped. */
  stopAfter: number;
  /** What it knew committed when it resumed. */
  committedAtRestart: number;
  /** Does to its files what the stop left. */
  crash?: (directory: string) => void;
}

/**
 * Two nodes fed the same entries from one primary: `steady` never stops, `restarted` stops and
 * resumes from its replay; then both receive the rest and commit it all.
 */
function steadyAndRestarted(t: TestContext, plan: string, { stopAfter, committedAtRestart, crash }: Restart) {
  const steady = tempDirectory(t);
  const steadyFiles = new LedgerFiles(steady);
  const results = drive(makeWriter({ secrets: new LedgerSecrets([SECRETS[0]!]) }), steadyFiles, plan);
  steadyFiles.markCommitted(results.length);
  steadyFiles.close();

  const restarted = tempDirectory(t);
  const before = new LedgerFiles(restarted);
  for (const result of results.slice(0, stopAfter)) before.append(result);
  before.close();
  crash?.(restarted);
  const replayed = replay(restarted);
  const resumed = new LedgerFiles(restarted);
  resumed.resume(replayed.chunks, committedAtRestart);
  for (const result of results.slice(replayed.lastTxId.seqno)) resumed.append(result);
  resumed.markCommitted(results.length);
  resumed.close();
  return { steady, restarted };
}

test('a node restarted with committed entries in its open chunk continues that chunk: its files are named and hold the bytes of a node that never stopped', (t) => {
  // Stopped after entry 6 (committed); the primary closes the chunk at 9 and the next at 11.
  const { steady, restarted } = steadyAndRestarted(t, 'tstS' + 'tsttS' + 'tS' + 't', { stopAfter: 6, committedAtRestart: 6 });
  assert.deepEqual(layout(restarted), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-9.committed:5,6,7,8,9', 'ledger_10-11.committed:10,11', 'ledger_12:12']);
  assert.deepEqual(chunkFiles(restarted), chunkFiles(steady));
  assert.equal(verifyDirectory(restarted), '2.11');
});

test('a chunk whose closing entry was written but not its positions table is completed at restart, where the primary closed it', (t) => {
  // Stopped after entry 9, which closes ledger_5, in the middle of completing it: the entries
  // written, the positions table and header not. Entries from 5 on were not known committed.
  const crash = (directory: string) => {
    const completed = readFileSync(join(directory, 'ledger_5-9'));
    const entriesEnd = Number(completed.readBigUInt64LE(0));
    rmSync(join(directory, 'ledger_5-9'));
    writeFileSync(join(directory, 'ledger_5'), Buffer.concat([Buffer.alloc(8), completed.subarray(8, entriesEnd)]));
  };
  const { steady, restarted } = steadyAndRestarted(t, 'tstS' + 'tsttS' + 'tS', { stopAfter: 9, committedAtRestart: 4, crash });
  assert.deepEqual(layout(restarted), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-9.committed:5,6,7,8,9', 'ledger_10-11.committed:10,11']);
  assert.deepEqual(chunkFiles(restarted), chunkFiles(steady));
});

test('resume deletes chunk files that hold only entries replay dropped, so their seqnos can be written again', async (t) => {
  const directory = tempDirectory(t);
  // Entries 5 and 6 follow the last signature, in a chunk of their own.
  const { replayed } = writeAndReplay(directory, 'tstS' + 'tt');
  assert.deepEqual(layout(directory), ['ledger_1-4:1,2,3,4', 'ledger_5:5,6']);
  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  assert.equal(files.resume(replayed.chunks, 2), 0);
  assert.deepEqual(layout(directory), ['ledger_1-4:1,2,3,4']);
  const writer = makeWriter({ resume: { tree: replayed.tree, seqno: 4, signatureSeqno: 4 } });
  drive(writer, files, 'ts', 'after restart');
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-4:1,2,3,4', 'ledger_5:5,6']);
  assert.equal(verifyDirectory(directory), '2.6');
});

test('replay refuses a ledger whose last signature or an earlier signature transaction was altered, naming its seqno', (t) => {
  const directory = tempDirectory(t);
  const { results, replayed } = writeAndReplay(directory, 'tstS' + 'ttS' + 'tt');
  assert.equal(replayed.lastTxId.seqno, 7);
  const replayAgain = () => replay(directory);
  for (const seqno of [7, 4]) {
    const name = onDisk(directory).find((file) => file.seqnos.includes(seqno))!.name;
    const path = join(directory, name);
    const original = readFileSync(path);
    // A character of the node's signature: the last is covered by no later signature, only by its own check.
    const bytes = Buffer.from(original);
    const entry = Buffer.from(results[seqno - 1]!.entry);
    const at = bytes.indexOf(entry) + entry.indexOf('"sig":"') + 12;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(path, bytes);
    assert.throws(replayAgain, (e: unknown) => e instanceof LedgerVerificationError && e.txId?.seqno === seqno && e.file === name, `altered signature at ${seqno}`);
    writeFileSync(path, original);
  }
  assert.equal(replayAgain().lastTxId.seqno, 7);
});

test('a last entry of the open chunk cut short by a crash is dropped, the file cut back before it, and appends continue there', async (t) => {
  const directory = tempDirectory(t);
  const files = new LedgerFiles(directory);
  const results = drive(makeWriter({ secrets: new LedgerSecrets([SECRETS[0]!]) }), files, 'tstS' + 'tts' + 'ts');
  files.close();
  const open = join(directory, 'ledger_5');
  const written = readFileSync(open);
  writeFileSync(open, written.subarray(0, written.length - 100));
  const replayed = replay(directory);
  assert.deepEqual(replayed.tornEntry, { file: 'ledger_5', seqno: 9, bytes: results[8]!.entry.length - 100 });
  assert.equal(replayed.lastTxId.seqno, 7, 'entry 8 then follows the last whole signature: dropped as any unsigned tail');

  const resumed = new LedgerFiles(directory);
  t.after(() => resumed.close());
  const openChunkBytes = resumed.resume(replayed.chunks, 4);
  assert.equal(openChunkBytes, bytesOf(results.slice(4, 7)));
  assert.equal(readFileSync(open).length, 8 + openChunkBytes, 'nothing of the torn entry is left for appends to follow');
  const writer = makeWriter({ secrets: new LedgerSecrets([SECRETS[0]!]), resume: { tree: replayed.tree, seqno: 7, signatureSeqno: 7, chunkBytes: openChunkBytes, views: replayed.views } });
  drive(writer, resumed, 'ts', 'after restart');
  await resumed.sync();
  assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5:5,6,7,8,9']);
  assert.equal(verifyDirectory(directory), '2.9');
});

for (const { torn, bytes } of [
  { torn: 'created, its header not written', bytes: () => Buffer.alloc(0) },
  { torn: 'its header written in part', bytes: () => Buffer.alloc(5) },
  { torn: 'its header written, no entry', bytes: () => Buffer.alloc(8) },
  { torn: 'its first entry written in part', bytes: (entry: Buffer) => Buffer.concat([Buffer.alloc(8), entry.subarray(0, 40)]) },
]) {
  test(`an open last chunk that holds no whole entry (${torn}) is left out and deleted, and appends create it again`, async (t) => {
    const directory = tempDirectory(t);
    const writer = makeWriter({ secrets: new LedgerSecrets([SECRETS[0]!]) });
    const files = new LedgerFiles(directory);
    drive(writer, files, 'tstS' + 'ttS');
    files.markCommitted(4);
    files.close();
    // The primary's next entry, which the node was about to write in a new chunk when it stopped.
    const next = Buffer.from(writer.appendTransaction(appWriteSet('8')).entry);
    writeFileSync(join(directory, 'ledger_8'), bytes(next));
    const replayed = replay(directory);
    assert.deepEqual(replayed.tornChunk, { file: 'ledger_8', bytes: bytes(next).length });
    assert.equal(replayed.lastTxId.seqno, 7);
    assert.equal(replayed.tornEntry, undefined);

    const resumed = new LedgerFiles(directory);
    t.after(() => resumed.close());
    assert.equal(resumed.resume(replayed.chunks, replayed.committedSeqno), 0);
    assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-7:5,6,7']);
    const after = makeWriter({ secrets: new LedgerSecrets([SECRETS[0]!]), resume: { tree: replayed.tree, seqno: 7, signatureSeqno: 7, views: replayed.views } });
    drive(after, resumed, 'ts', 'after restart');
    await resumed.sync();
    assert.deepEqual(layout(directory), ['ledger_1-4.committed:1,2,3,4', 'ledger_5-7:5,6,7', 'ledger_8:8,9']);
    assert.equal(verifyDirectory(directory), '2.9');
  });
}

test('a chunk with its header cut short that is not the last is refused, naming it', (t) => {
  const directory = tempDirectory(t);
  writeAndReplay(directory, 'tstS' + 'ttS' + 'tt');
  writeFileSync(join(directory, 'ledger_5-7'), Buffer.alloc(5));
  assert.throws(
    () => replay(directory),
    (e: unknown) => e instanceof LedgerVerificationError && e.file === 'ledger_5-7',
  );
  // An open chunk too, when another follows it.
  rmSync(join(directory, 'ledger_5-7'));
  writeFileSync(join(directory, 'ledger_5'), Buffer.alloc(0));
  assert.throws(
    () => replay(directory),
    (e: unknown) => e instanceof LedgerVerificationError && e.file === 'ledger_5',
  );
});

test('a complete chunk cut short is refused, naming it: only the open chunk can end in a partly written entry', (t) => {
  const directory = tempDirectory(t);
  writeAndReplay(directory, 'tstS' + 'tts');
  const path = join(directory, 'ledger_1-4');
  const written = readFileSync(path);
  writeFileSync(path, written.subarray(0, written.length - 100));
  assert.throws(
    () => replay(directory),
    (e: unknown) => e instanceof LedgerVerificationError && e.file === 'ledger_1-4',
  );
});

/**
 * A node's ledger as the fixture service wrote it up to `lastSeqno`: seqnos 1 to 6 in a committed
 * chunk, the rest in the open chunk `ledger_7`.
 */
function staleLedger(directory: string, service: SnapshotService, lastSeqno: number): void {
  const files = new LedgerFiles(directory);
  for (let seqno = 1; seqno <= lastSeqno; seqno++) files.append({ ...service.appended.get(seqno)!, closesChunk: seqno === 6 });
  files.markCommitted(6);
  files.close();
}

test('a snapshot past the end of the ledger is started from; the open chunk that ends before it is set aside as CCF does, and new entries start a chunk after it', async (t) => {
  const directory = tempDirectory(t);
  const service = snapshotService();
  // Loaded afresh at each start, as a node loads it: replay and writer extend the snapshot's tree.
  const loadSnapshot = () => verifySnapshotFile(service.fileName, service.file, identity.serviceCertPem, new LedgerSecrets(SECRETS));
  // The node stopped at seqno 8; the others went on and snapshotted at 10.
  staleLedger(directory, service, 8);
  const replayed = replay(directory, SECRETS, loadSnapshot());
  assert.equal(replayed.snapshot?.name, service.fileName);
  assert.deepEqual(replayed.lastTxId, service.appended.get(10)!.txId);
  assert.deepEqual(replayed.setAside, ['ledger_7']);

  const files = new LedgerFiles(directory);
  t.after(() => files.close());
  assert.deepEqual(files.setAside(replayed.setAside), ['ledger_7.ignored']);
  assert.equal(files.resume(replayed.chunks, replayed.committedSeqno), 0);
  assert.deepEqual(layout(directory), ['ledger_1-6.committed:1,2,3,4,5,6', 'ledger_7.ignored:7,8']);
  // As a backup receives them from the primary.
  const writer = makeWriter({ view: 3, resume: { tree: replayed.tree, seqno: 10, signatureSeqno: 10, views: replayed.views } });
  for (let seqno = 11; seqno <= 13; seqno++) {
    const { entry, txId } = service.appended.get(seqno)!;
    files.append(writer.appendReplicated(entry, txId));
  }
  await files.sync();
  assert.deepEqual(layout(directory), ['ledger_1-6.committed:1,2,3,4,5,6', 'ledger_7.ignored:7,8', 'ledger_11:11,12,13']);
  assert.deepEqual(listChunkFiles(directory).map((file) => file.name), ['ledger_1-6.committed', 'ledger_11'], 'no ledger read sees the set-aside chunk');
  // Entries up to the snapshot it started from the node never had, and never will: not pending, not found.
  for (const seqno of [7, 10]) await assert.rejects(files.readEntry(seqno), { name: 'CocoError', code: 'ResourceNotFound', message: `seqno ${seqno} is not in this node's ledger files (it started from a snapshot at or after that seqno): ask a node that holds that part of the ledger` });
  await assert.rejects(files.readEntry(14), { name: 'CocoError', code: 'TransactionPendingOrUnknown' });

  // The next restart starts from the snapshot again and sets nothing more aside.
  files.close();
  const again = replay(directory, SECRETS, loadSnapshot());
  assert.equal(again.snapshot?.name, service.fileName);
  assert.equal(again.lastTxId.seqno, 13);
  assert.deepEqual(again.setAside, []);
});

test('an open chunk that reaches past the snapshot is replayed whole, the snapshot unused, and nothing is set aside', (t) => {
  const directory = tempDirectory(t);
  // Seqnos 5 to 13 in the open chunk; the snapshot (of another ledger) is at 10.
  const { replayed: whole } = writeAndReplay(directory, 'tstS' + 'tttttttts');
  const service = snapshotService();
  const replayed = replay(directory, [SECRETS[0]!], verifySnapshotFile(service.fileName, service.file, identity.serviceCertPem, new LedgerSecrets(SECRETS)));
  assert.equal(replayed.snapshot, undefined);
  assert.equal(replayed.lastTxId.seqno, 13);
  assert.equal(toHex(replayed.tree.root()), toHex(whole.tree.root()));
  assert.deepEqual(replayed.setAside, []);
});
