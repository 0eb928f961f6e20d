// The node's snapshot directory: committed snapshots written in order off the event loop, and
// with files_cleanup.max_snapshots, only the newest kept; damaged ones refused and set aside,
// unreadable ones refused as such.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { CocoError } from '../../src/errors.js';
import { splitCommittedSnapshot } from '../../src/ledger/committed-snapshot.js';
import type { TxReceipt } from '../../src/ledger/receipt.js';
import { SnapshotDirectory, SnapshotRefused, verifySnapshotFile } from '../../src/node/snapshot-directory.js';
import { secrets, snapshotService } from '../ledger/snapshot-fixture.js';
import { identity } from '../ledger/writer-fixture.js';

const service = snapshotService();
const receipt = JSON.parse(Buffer.from(splitCommittedSnapshot(service.file).receipt).toString()) as TxReceipt;
/** The snapshot in pieces, as the node's encoder hands it over: the entry header first. */
const pieces = [service.snapshot.subarray(0, 8), service.snapshot.subarray(8, 100), service.snapshot.subarray(100)];

function withDirectory(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'coco-snapshots-'));
  return body(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

async function commitFour(directory: SnapshotDirectory): Promise<void> {
  for (const seqno of [10, 40, 20, 30]) {
    directory.writePending(seqno, seqno + 1, pieces);
    directory.commit(seqno, seqno + 1, pieces, receipt);
  }
  directory.writePending(50, 51, pieces);
  await directory.flushed();
}

test('with max_snapshots, a committed snapshot deletes the oldest beyond it; pending ones stay', () =>
  withDirectory(async (dir) => {
    writeFileSync(join(dir, 'notes.txt'), 'not a snapshot');
    const directory = new SnapshotDirectory(dir, 2);
    await commitFour(directory);
    assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'snapshot_30_31.committed', 'snapshot_40_41.committed', 'snapshot_50_51']);
    assert.equal(directory.latestCommittedName(), 'snapshot_40_41.committed');
    assert.deepEqual(directory.read('snapshot_40_41.committed'), service.file, 'the committed file is the snapshot and its receipt');
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'snapshot_50_51'))), service.snapshot, 'a pending file is the snapshot alone');
    assert.throws(() => directory.commit(60, 61, [service.file], receipt), (e: unknown) => e instanceof CocoError && e.code === 'InvalidArgument', 'a file that already has a receipt');
  }));

test('without max_snapshots every committed snapshot is kept', () =>
  withDirectory(async (dir) => {
    await commitFour(new SnapshotDirectory(dir));
    assert.equal(readdirSync(dir).filter((name) => name.endsWith('.committed')).length, 4);
  }));

test('only committed snapshot names are served; the latest is chosen above `since`', () =>
  withDirectory(async (dir) => {
    writeFileSync(join(dir, 'notes.txt'), 'not a snapshot');
    const directory = new SnapshotDirectory(dir, 2);
    await commitFour(directory);
    assert.equal(directory.pathToServe('snapshot_40_41.committed'), join(dir, 'snapshot_40_41.committed'));
    const notFound = (e: unknown) => e instanceof CocoError && e.code === 'ResourceNotFound';
    for (const name of ['snapshot_50_51', 'notes.txt', '../snapshot_40_41.committed', 'snapshot_40_41.committed/x']) {
      assert.throws(() => directory.pathToServe(name), notFound, name);
    }
    assert.equal(directory.latestCommittedName(0), 'snapshot_40_41.committed');
    assert.equal(directory.latestCommittedName(39), 'snapshot_40_41.committed');
    assert.equal(directory.latestCommittedName(40), undefined, 'since is exclusive, as in CCF');
  }));

test('a commit appends the receipt to the pending file; without one (discarded, or never written) it writes the whole file', () =>
  withDirectory(async (dir) => {
    const directory = new SnapshotDirectory(dir);
    directory.writePending(10, 11, pieces);
    await directory.flushed();
    const pendingInode = statSync(join(dir, 'snapshot_10_11')).ino;
    directory.commit(10, 11, pieces, receipt);
    await directory.flushed();
    assert.deepEqual(readdirSync(dir), ['snapshot_10_11.committed']);
    assert.equal(statSync(join(dir, 'snapshot_10_11.committed')).ino, pendingInode, 'the pending file itself, renamed');
    assert.deepEqual(directory.read('snapshot_10_11.committed'), service.file);

    directory.writePending(20, 21, pieces);
    directory.discard(20, 21);
    directory.commit(30, 31, pieces, receipt);
    await directory.flushed();
    assert.deepEqual(readdirSync(dir).sort(), ['snapshot_10_11.committed', 'snapshot_30_31.committed']);
    assert.deepEqual(directory.read('snapshot_30_31.committed'), service.file);
  }));

test('a pending file that could not be written is not completed: its commit writes the snapshot anew', () =>
  withDirectory(async (dir) => {
    const directory = new SnapshotDirectory(dir);
    // A directory where the pending file should be makes its write fail (reported, not thrown).
    mkdirSync(join(dir, 'snapshot_10_11'));
    directory.writePending(10, 11, pieces);
    await directory.flushed();
    rmSync(join(dir, 'snapshot_10_11'), { recursive: true });
    // What a write that failed half-way leaves: a pending file without its end.
    writeFileSync(join(dir, 'snapshot_10_11'), service.snapshot.subarray(0, 50));
    directory.commit(10, 11, pieces, receipt);
    await directory.flushed();
    assert.deepEqual(directory.read('snapshot_10_11.committed'), service.file);
    assert.deepEqual(readdirSync(dir), ['snapshot_10_11.committed'], 'the partial pending file is gone');
  }));

test('snapshot writes that fail (a full disk) leave no partial files, are logged naming the file, and what an earlier run left unfinished is cleared at start', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, (t) =>
  withDirectory(async (dir) => {
    const errors: string[] = [];
    t.mock.method(console, 'error', (line: string) => errors.push(line));
    writeFileSync(join(dir, 'snapshot_1_2.committed'), service.file);
    writeFileSync(join(dir, 'snapshot_5_6'), service.snapshot.subarray(0, 50));
    writeFileSync(join(dir, 'snapshot_7_8.committed.tmp'), service.snapshot.subarray(0, 50));
    writeFileSync(join(dir, 'notes.txt'), 'not a snapshot');
    const directory = new SnapshotDirectory(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'snapshot_1_2.committed']);
    // Files that answer every write with ENOSPC, as a full disk does.
    symlinkSync('/dev/full', join(dir, 'snapshot_20_21'));
    directory.writePending(20, 21, pieces);
    symlinkSync('/dev/full', join(dir, 'snapshot_30_31.committed.tmp'));
    directory.commit(30, 31, pieces, receipt);
    await directory.flushed();
    assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'snapshot_1_2.committed']);
    assert.equal(directory.latestCommittedName(), 'snapshot_1_2.committed');
    assert.deepEqual(
      errors.map((line) => line.replace(/^\S+Z \[error\] /, '').replace(/: ENOSPC.*$/, ': ENOSPC')),
      [`coco node: the pending snapshot snapshot_20_21 could not be written in ${dir}: ENOSPC`, `coco node: the snapshot snapshot_30_31.committed could not be written in ${dir}: ENOSPC`],
    );
  }));

test('a snapshot set aside is renamed <name>.ignored (<name>.1.ignored when set aside again): no longer listed, served or counted, kept by later runs', () =>
  withDirectory(async (dir) => {
    const directory = new SnapshotDirectory(dir, 3);
    await commitFour(directory);
    assert.deepEqual(directory.committedNames(), ['snapshot_40_41.committed', 'snapshot_30_31.committed', 'snapshot_20_21.committed'], 'newest first');
    assert.equal(directory.setAside('snapshot_40_41.committed'), 'snapshot_40_41.committed.ignored');
    assert.deepEqual(directory.committedNames(), ['snapshot_30_31.committed', 'snapshot_20_21.committed']);
    assert.equal(directory.latestCommittedName(), 'snapshot_30_31.committed');
    assert.throws(() => directory.pathToServe('snapshot_40_41.committed.ignored'), (e: unknown) => e instanceof CocoError && e.code === 'ResourceNotFound');
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'snapshot_40_41.committed.ignored'))), service.file, 'its bytes are kept');
    // A later run neither deletes it (as it does what an earlier one left pending) nor counts it.
    const later = new SnapshotDirectory(dir, 3);
    later.writePending(60, 61, pieces);
    later.commit(60, 61, pieces, receipt);
    await later.flushed();
    assert.deepEqual(readdirSync(dir).sort(), ['snapshot_20_21.committed', 'snapshot_30_31.committed', 'snapshot_40_41.committed.ignored', 'snapshot_60_61.committed']);
    assert.throws(() => directory.setAside('snapshot_1_2'), (e: unknown) => e instanceof CocoError && e.code === 'ResourceNotFound', 'only a committed snapshot');
    // The same snapshot fetched again and refused again: the first copy set aside stays as it was.
    writeFileSync(join(dir, 'snapshot_40_41.committed'), 'a second copy');
    assert.equal(later.setAside('snapshot_40_41.committed'), 'snapshot_40_41.committed.1.ignored');
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'snapshot_40_41.committed.ignored'))), service.file);
    assert.equal(readFileSync(join(dir, 'snapshot_40_41.committed.1.ignored'), 'utf8'), 'a second copy');
  }));

test('an empty or damaged committed snapshot is refused as damaged (SnapshotRefused), saying why without the file name twice', () => {
  for (const [what, bytes, reason] of [
    ['an empty file', new Uint8Array(), /^the file is empty$/],
    ['a file cut short', service.file.subarray(0, 100), /truncated/],
  ] as const) {
    assert.throws(
      () => verifySnapshotFile(service.fileName, bytes, identity.serviceCertPem, secrets),
      (error: unknown) => {
        assert.ok(error instanceof SnapshotRefused, what);
        assert.equal(error.code, 'SnapshotInvalid');
        assert.match(error.reason, reason, what);
        assert.equal(error.message, `snapshot ${service.fileName} is refused: ${error.reason}; remove it to start from the ledger or another snapshot`);
        return true;
      },
    );
  }
});

/** Asserts that reading `name` in `directory` is refused as unreadable (FileUnreadable naming it and the errno), not as damaged. */
function refusesAsUnreadable(directory: SnapshotDirectory, name: string, errno: string): void {
  for (const read of [() => directory.read(name), () => directory.loadLatest(identity.serviceCertPem, secrets)]) {
    assert.throws(read, (error: unknown) => {
      assert.ok(error instanceof CocoError && !(error instanceof SnapshotRefused) && error.code === 'FileUnreadable', String(error));
      assert.ok(error.message.startsWith(`cannot read snapshot ${join(directory.directory, name)}: ${errno} (`), error.message);
      assert.match(error.message, /; make it a file the node's user can read \(its owner, its permissions, the disk\) and restart the node$/);
      return true;
    });
  }
}

test('a committed snapshot the node cannot read (a directory in its place) is refused naming it, as unreadable rather than damaged', () =>
  withDirectory(async (dir) => {
    mkdirSync(join(dir, service.fileName));
    refusesAsUnreadable(new SnapshotDirectory(dir), service.fileName, 'EISDIR');
  }));

test('a committed snapshot whose permissions the node\'s user lacks is refused naming it and EACCES', { skip: process.getuid?.() === 0 && 'run as root, which reads a file whatever its mode' }, () =>
  withDirectory(async (dir) => {
    writeFileSync(join(dir, service.fileName), service.file, { mode: 0o000 });
    refusesAsUnreadable(new SnapshotDirectory(dir), service.fileName, 'EACCES');
  }));

test('each committed snapshot file written is logged with its path and size, and each one max_snapshots removes with its path', (t) =>
  withDirectory(async (dir) => {
    const logged: string[] = [];
    t.mock.method(console, 'log', (line: string) => void logged.push(line));
    await commitFour(new SnapshotDirectory(dir, 2));
    const bytes = statSync(join(dir, 'snapshot_40_41.committed')).size;
    const messages = logged.map((line) => line.replace(/^\S+Z \[info \] /, ''));
    assert.deepEqual(messages, [
      ...[10, 40, 20].map((seqno) => `coco node: new snapshot file written to ${join(dir, `snapshot_${seqno}_${seqno + 1}.committed`)} [${bytes} bytes]`),
      `coco node: removed snapshot file ${join(dir, 'snapshot_10_11.committed')}: files_cleanup.max_snapshots keeps the 2 newest`,
      `coco node: new snapshot file written to ${join(dir, 'snapshot_30_31.committed')} [${bytes} bytes]`,
      `coco node: removed snapshot file ${join(dir, 'snapshot_20_21.committed')}: files_cleanup.max_snapshots keeps the 2 newest`,
    ]);
  }));
