import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassThrough } from 'node:stream';
import { Progress } from '../../src/cli/progress.js';

/** A stream that keeps what was written, as a terminal or not. */
function capture(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

test('on a terminal, progress rewrites one line a few times a second and clears it when done', async () => {
  let now = 1_000_000;
  const { stream, text } = capture(true);
  const progress = new Progress({ stream, now: () => now });
  progress.update('1 of 3');
  progress.update('2 of 3'); // too soon after the first
  now += 250;
  progress.update('3 of 3');
  progress.done();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(text(), '\r\x1b[K1 of 3\r\x1b[K3 of 3\r\x1b[K');
});

test('in a log (not a terminal), progress prints a plain line every 5 s, none for a short operation', async () => {
  let now = 1_000_000;
  const { stream, text } = capture(false);
  const progress = new Progress({ stream, now: () => now });
  progress.update('at 0 s');
  now += 4_000;
  progress.update('at 4 s');
  now += 1_000;
  progress.update('at 5 s');
  now += 1_000;
  progress.update('at 6 s');
  now += 5_000;
  progress.update('at 11 s');
  progress.done();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(text(), 'at 5 s\nat 11 s\n');
});
