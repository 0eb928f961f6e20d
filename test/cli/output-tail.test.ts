import assert from 'node:assert/strict';
import test from 'node:test';
import { OutputTail } from '../../src/cli/output-tail.js';

test('everything is kept until the output is bounded', () => {
  const tail = new OutputTail();
  const line = `${'x'.repeat(99)}\n`;
  for (let i = 0; i < 5_000; i++) tail.append(line);
  assert.equal(tail.text.length, 500_000);
});

test('once bounded, the output keeps its last part, however much more is printed', () => {
  const tail = new OutputTail();
  tail.append('listening on https://127.0.0.1:8000\n'.repeat(10_000));
  tail.bound();
  let longest = tail.text.length;
  for (let i = 0; i < 100_000; i++) {
    tail.append(`request ${i}\n`);
    longest = Math.max(longest, tail.text.length);
  }
  assert.ok(longest <= 2 * 64 * 1024 + 20, `at most twice the tail at any time, saw ${longest}`);
  assert.ok(tail.text.endsWith('request 99999\n'));
  assert.ok(tail.text.includes('request 99000\n'), 'the last lines are all there');
  assert.ok(!tail.text.includes('listening on'), 'the start-up lines have gone');
});
