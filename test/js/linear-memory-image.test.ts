import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearMemoryImage } from '../../src/js/linear-memory-image.js';

const PAGE = 65_536;

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
/** The global's types are not in the compiler's libs here (no DOM lib). */
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory } }).WebAssembly;

test('an image holds the memory up to its last non-zero byte, rounded to a word, and restores it', () => {
  const memory = new Memory({ initial: 2 });
  const view = new Uint8Array(memory.buffer);
  view.set([1, 2, 3], 100);
  view[PAGE + 4] = 9;
  const image = LinearMemoryImage.capture(memory);
  assert.equal(image.byteLength, PAGE + 8);
  view.fill(7, 0, 200);
  view[PAGE + 4] = 0;
  view[PAGE + 100] = 5;
  image.restore(memory);
  assert.deepEqual(Array.from(view.subarray(99, 104)), [0, 1, 2, 3, 0]);
  assert.equal(view[PAGE + 4], 9);
  assert.equal(view[PAGE + 100], 5, 'bytes beyond the image are left as they are');
  image.restore(memory, true);
  assert.equal(view[PAGE + 100], 0, 'clearBeyond zeroes them');
});

test('a last word whose only set bit is the sign bit counts as content', () => {
  const memory = new Memory({ initial: 1 });
  new DataView(memory.buffer).setFloat64(800, -0, true);
  assert.equal(LinearMemoryImage.capture(memory).byteLength, 808);
});

test('an image of a grown memory restores into its first bytes; an empty memory gives an empty image', () => {
  const memory = new Memory({ initial: 1, maximum: 4 });
  assert.equal(LinearMemoryImage.capture(memory).byteLength, 0);
  new Uint8Array(memory.buffer)[10] = 1;
  const image = LinearMemoryImage.capture(memory);
  memory.grow(2);
  new Uint8Array(memory.buffer)[10] = 2;
  image.restore(memory);
  assert.equal(new Uint8Array(memory.buffer)[10], 1);
});
