import assert from 'node:assert/strict';
import test from 'node:test';
import { FRAME_HEADER_BYTES } from '../../src/channels/frame.js';
import { SendQueue } from '../../src/channels/send-queue.js';

function contents(queue: SendQueue): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  queue.drain((kind, payload) => out.push([kind, payload.length]));
  return out;
}

test('queued frames drain oldest first and leave the queue empty', () => {
  const queue = new SendQueue(1000);
  assert.ok(queue.push(1, new Uint8Array(10)));
  assert.ok(queue.push(2, new Uint8Array(20)));
  assert.equal(queue.bytes, 30 + 2 * FRAME_HEADER_BYTES);
  assert.equal(queue.length, 2);
  assert.deepEqual(contents(queue), [[1, 10], [2, 20]]);
  assert.equal(queue.bytes, 0);
  assert.deepEqual(contents(queue), []);
});

test('a frame that does not fit drops the oldest frames, counting headers', () => {
  const queue = new SendQueue(3 * (FRAME_HEADER_BYTES + 10));
  for (let kind = 1; kind <= 3; kind++) assert.ok(queue.push(kind, new Uint8Array(10)));
  assert.ok(queue.push(4, new Uint8Array(11)), 'needs room for 2 frames of 10');
  assert.deepEqual(contents(queue), [[3, 10], [4, 11]]);
});

test('a frame larger than the whole bound is refused and drops nothing', () => {
  const queue = new SendQueue(100);
  assert.ok(queue.push(1, new Uint8Array(10)));
  assert.equal(queue.push(2, new Uint8Array(100 - FRAME_HEADER_BYTES + 1)), false);
  assert.ok(queue.push(3, new Uint8Array(100 - FRAME_HEADER_BYTES - 15)));
  assert.deepEqual(contents(queue), [[1, 10], [3, 80]]);
});

test('the bound holds over many drops, and order survives compaction', () => {
  const queue = new SendQueue(10 * (FRAME_HEADER_BYTES + 1));
  for (let i = 0; i < 5000; i++) {
    queue.push(i % 256, Uint8Array.of(i % 256));
    assert.ok(queue.bytes <= queue.bytesMax);
  }
  assert.deepEqual(contents(queue).map(([kind]) => kind), Array.from({ length: 10 }, (_, i) => (4990 + i) % 256));
});

test('clear empties the queue', () => {
  const queue = new SendQueue(100);
  queue.push(1, new Uint8Array(3));
  queue.clear();
  assert.equal(queue.length, 0);
  assert.equal(queue.bytes, 0);
});
