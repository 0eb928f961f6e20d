// A file replaced durably is the old one or the new one, whole: a write the disk cuts short (a
// nearly full disk, a file size limit) or refuses leaves the old file as it was, removes what was
// written aside, and throws a LedgerDiskError naming the operation, the file and the errno.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileDurably } from '../../src/node/durable-file.js';
import { LedgerDiskError } from '../../src/node/ledger-disk-error.js';

/** `ulimit -f` counts 1024-byte blocks: a write across this size is cut short, the next one refused (EFBIG). */
const FILE_SIZE_LIMIT_KB = 4;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'coco-durable-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs writeFileDurably(path, text) in a process under `ulimit -f limitKb` (Node ignores SIGXFSZ, so
 * a write across the limit comes back short instead of killing it) and returns what it threw.
 */
function writeUnderFileSizeLimit(limitKb: number, path: string, text: string): { code?: string; message?: string; operation?: string; errno?: string } {
  const module = new URL('../../src/node/durable-file.js', import.meta.url).href;
  const script = `
    const { writeFileDurably } = await import(${JSON.stringify(module)});
    try {
      writeFileDurably(process.argv[1], process.argv[2]);
      console.log('{}');
    } catch (error) {
      console.log(JSON.stringify({ code: error.code, message: error.message, operation: error.operation, errno: error.errno }));
    }`;
  const out = execFileSync('bash', ['-c', `ulimit -f ${limitKb}; exec "$0" --input-type=module -e "$1" "$2" "$3"`, process.execPath, script, path, text], { encoding: 'utf8' });
  return JSON.parse(out) as ReturnType<typeof writeUnderFileSizeLimit>;
}

test('a write the disk cuts short leaves the old file whole, removes the temporary file, and throws naming the write', { timeout: 30_000 }, (t) => {
  const path = join(tempDir(t), 'sealed_secrets.json');
  writeFileSync(path, '{"old":true}');
  // Larger than the limit: the first write call writes 4096 bytes of it, the next is refused.
  const text = JSON.stringify({ key: 'k'.repeat(FILE_SIZE_LIMIT_KB * 1024 + 100) });

  const thrown = writeUnderFileSizeLimit(FILE_SIZE_LIMIT_KB, path, text);

  assert.equal(readFileSync(path, 'utf8'), '{"old":true}');
  assert.equal(existsSync(`${path}.tmp`), false, 'the temporary file is removed');
  assert.equal(thrown.code, 'LedgerWriteFailed');
  assert.equal(thrown.operation, 'write');
  assert.equal(thrown.errno, 'EFBIG');
  assert.ok(thrown.message!.startsWith(`write of ${path}.tmp failed: EFBIG (file too large); `), thrown.message);
});

test('a write within the limit replaces the file whole', { timeout: 30_000 }, (t) => {
  const path = join(tempDir(t), 'consensus_state.json');
  writeFileSync(path, '{"old":true}');
  const text = JSON.stringify({ key: 'k'.repeat(FILE_SIZE_LIMIT_KB * 1024 - 100) });

  assert.deepEqual(writeUnderFileSizeLimit(FILE_SIZE_LIMIT_KB, path, text), {});
  assert.equal(readFileSync(path, 'utf8'), text);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('a rename the system refuses leaves what is in place, removes the temporary file, and throws naming the rename', (t) => {
  const path = join(tempDir(t), 'consensus_state.json');
  // A directory in the file's place: the rename over it fails (EISDIR).
  mkdirSync(join(path, 'in-the-way'), { recursive: true });

  assert.throws(
    () => writeFileDurably(path, '{"view":2}'),
    (error) => error instanceof LedgerDiskError && error.operation === 'rename' && error.errno === 'EISDIR' && error.path === `${path}.tmp to consensus_state.json`,
  );
  assert.ok(statSync(join(path, 'in-the-way')).isDirectory());
  assert.equal(existsSync(`${path}.tmp`), false, 'the temporary file is removed');
});

test('the rename is made durable: the directory is fsynced after it, so a crash cannot bring back the old file (a forgotten vote)', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'consensus_state.json');
  // Records what the module does through node:fs, whose ES exports follow the patched CommonJS ones.
  const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
  const original = { openSync: fs.openSync, fsyncSync: fs.fsyncSync, renameSync: fs.renameSync };
  const events: string[] = [];
  const directoryFds = new Set<number>();
  fs.openSync = ((file: string, ...rest: unknown[]) => {
    const fd = (original.openSync as (...args: unknown[]) => number)(file, ...rest);
    if (file === dir) directoryFds.add(fd);
    return fd;
  }) as typeof fs.openSync;
  fs.fsyncSync = (fd: number) => {
    events.push(directoryFds.has(fd) ? 'fsync directory' : 'fsync file');
    original.fsyncSync(fd);
  };
  fs.renameSync = (from, to) => {
    events.push('rename');
    original.renameSync(from, to);
  };
  syncBuiltinESMExports();
  try {
    writeFileDurably(path, '{"view":3}');
  } finally {
    Object.assign(fs, original);
    syncBuiltinESMExports();
  }
  assert.deepEqual(events, ['fsync file', 'rename', 'fsync directory']);
  assert.equal(readFileSync(path, 'utf8'), '{"view":3}');
});
