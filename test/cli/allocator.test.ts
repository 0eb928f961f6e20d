import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { allocatorEnv, describeAllocator, JEMALLOC_LIBRARIES, nodeAllocator, type AllocatorHost } from '../../src/cli/allocator.js';
import { CocoError } from '../../src/errors.js';
import { repoRoot } from '../support/paths.js';

const LIBRARY = JEMALLOC_LIBRARIES[0]!;
const linux = (env: NodeJS.ProcessEnv, installed: readonly string[] = [LIBRARY]): AllocatorHost => ({
  platform: 'linux',
  env,
  exists: (path) => installed.includes(path),
});

test('jemalloc is used when it is installed, glibc malloc when it is not', () => {
  assert.deepEqual(nodeAllocator(linux({})), { kind: 'jemalloc', library: LIBRARY });
  assert.deepEqual(nodeAllocator(linux({}, [JEMALLOC_LIBRARIES[1]!])), { kind: 'jemalloc', library: JEMALLOC_LIBRARIES[1] });
  assert.deepEqual(nodeAllocator(linux({}, [])), { kind: 'system' });
  assert.deepEqual(nodeAllocator({ platform: 'darwin', env: {}, exists: () => true }), { kind: 'system' });
});

test('COCO_ALLOCATOR chooses, and asking for a missing jemalloc is a clear error', () => {
  assert.deepEqual(nodeAllocator(linux({ COCO_ALLOCATOR: 'system' })), { kind: 'system' });
  assert.deepEqual(nodeAllocator(linux({ COCO_ALLOCATOR: 'jemalloc' })), { kind: 'jemalloc', library: LIBRARY });
  assert.throws(
    () => nodeAllocator(linux({ COCO_ALLOCATOR: 'jemalloc' }, [])),
    (error: unknown) => error instanceof CocoError && error.code === 'AllocatorMissing' && /apt-get install libjemalloc2/.test(error.message),
  );
  assert.throws(
    () => nodeAllocator({ platform: 'darwin', env: { COCO_ALLOCATOR: 'jemalloc' }, exists: () => true }),
    (error: unknown) => error instanceof CocoError && error.code === 'AllocatorMissing' && /Linux only/.test(error.message),
  );
  assert.throws(
    () => nodeAllocator(linux({ COCO_ALLOCATOR: 'tcmalloc' })),
    (error: unknown) => error instanceof CocoError && error.code === 'InvalidArgument' && /auto, jemalloc or system/.test(error.message),
  );
});

test("an operator's LD_PRELOAD is passed on unchanged", () => {
  const env = { LD_PRELOAD: '/opt/lib/libtcmalloc.so', PATH: '/bin' };
  const allocator = nodeAllocator(linux(env));
  assert.deepEqual(allocator, { kind: 'preloaded', preload: '/opt/lib/libtcmalloc.so' });
  assert.equal(allocatorEnv(env, allocator), env);
  assert.match(describeAllocator(allocator), /LD_PRELOAD/);
});

test('only jemalloc changes the environment, and only by LD_PRELOAD', () => {
  const env = { PATH: '/bin', HOME: '/home/x' };
  assert.deepEqual(allocatorEnv(env, { kind: 'jemalloc', library: LIBRARY }), { ...env, LD_PRELOAD: LIBRARY });
  assert.equal(env.PATH, '/bin');
  assert.equal('LD_PRELOAD' in env, false);
  assert.equal(allocatorEnv(env, { kind: 'system' }), env);
});

test('a process started with the environment for this machine runs on the allocator chosen', () => {
  const allocator = nodeAllocator({ platform: process.platform, env: {}, exists: existsSync });
  const env = allocatorEnv({ PATH: process.env.PATH }, allocator);
  const maps = execFileSync(process.execPath, ['-e', "process.stdout.write(require('fs').existsSync('/proc/self/maps') ? require('fs').readFileSync('/proc/self/maps', 'utf8') : '')"], { env, encoding: 'utf8' });
  if (maps === '') return; // no /proc: nothing to look at
  assert.equal(/libjemalloc/.test(maps), allocator.kind === 'jemalloc', `the child's memory map ${allocator.kind === 'jemalloc' ? 'holds' : 'does not hold'} libjemalloc`);
});

test('coco sandbox refuses a COCO_ALLOCATOR it cannot use before it creates anything of the workspace', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-allocator-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const workspace = join(dir, 'workspace');
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'coco.js'), 'sandbox', '--workspace', workspace, '--nodes', '1'], {
    env: { ...process.env, COCO_ALLOCATOR: 'bogus' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /COCO_ALLOCATOR must be auto, jemalloc or system, got "bogus" \[InvalidArgument\]/);
  assert.equal(existsSync(workspace), false, 'no workspace, not even a half-made one');
});
