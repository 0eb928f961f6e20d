// GET /node/memory's figures: the resident memory now and at its peak, and the lowest ceiling on it
// (cgroup limit, address-space limit as CCF reports, machine memory).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { test } from 'node:test';
import { addressSpaceLimitBytes, memoryCeilingBytes, type NodeMemory } from '../../src/rpc/node-memory.js';

const GIB = 1024 ** 3;

test("the address-space limit is read from /proc/self/limits' soft column; unlimited is none", () => {
  const limits = (soft: string, hard: string) => `Limit                     Soft Limit           Hard Limit           Units\nMax address space         ${soft}           ${hard}           bytes\nMax file locks            unlimited            unlimited            locks\n`;
  assert.equal(addressSpaceLimitBytes(limits('8589934592', 'unlimited')), 8 * GIB);
  assert.equal(addressSpaceLimitBytes(limits('unlimited', 'unlimited')), undefined);
  assert.equal(addressSpaceLimitBytes('Max cpu time              unlimited            unlimited            seconds\n'), undefined);
});

test('the maximum is the lowest ceiling that applies, the machine memory without another', () => {
  const physicalBytes = 32 * GIB;
  assert.equal(memoryCeilingBytes({ cgroupBytes: undefined, addressSpaceBytes: undefined, physicalBytes }), physicalBytes);
  // Node reports a cgroup without a limit as 2^64 - 1.
  assert.equal(memoryCeilingBytes({ cgroupBytes: 2 ** 64 - 1, addressSpaceBytes: undefined, physicalBytes }), physicalBytes);
  assert.equal(memoryCeilingBytes({ cgroupBytes: 4 * GIB, addressSpaceBytes: 16 * GIB, physicalBytes }), 4 * GIB);
  assert.equal(memoryCeilingBytes({ cgroupBytes: undefined, addressSpaceBytes: 8 * GIB, physicalBytes }), 8 * GIB);
});

test('a node process under an address-space limit (ulimit -v) reports it as max_total_heap_size, as CCF does', { timeout: 30_000 }, () => {
  const module = new URL('../../src/rpc/node-memory.js', import.meta.url).pathname;
  const script = `import(${JSON.stringify(module)}).then((m) => console.log(JSON.stringify(m.nodeMemory())))`;
  const limitKib = 8 * 1024 * 1024;
  const out = execFileSync('/bin/sh', ['-c', `ulimit -v ${limitKib} && exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' });
  const memory = JSON.parse(out) as NodeMemory;
  assert.equal(memory.max_total_heap_size, Math.min(8 * GIB, totalmem()));
  assert.ok(memory.current_allocated_heap_size > 0 && memory.peak_allocated_heap_size > 0);
  assert.ok(memory.peak_allocated_heap_size <= memory.max_total_heap_size);
});
