import assert from 'node:assert/strict';
import test from 'node:test';
import { FRAME_PAYLOAD_BYTES_MAX } from '../../src/channels/channel-limits.js';
import { encodeFrameHeader, FRAME_HEADER_BYTES, FrameReader, type Frame } from '../../src/channels/frame.js';
import { CocoError } from '../../src/errors.js';

function frame(kind: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.from([...encodeFrameHeader(kind, payload.length), ...payload]);
}

function drain(reader: FrameReader): Frame[] {
  const frames: Frame[] = [];
  for (let f = reader.next(); f !== undefined; f = reader.next()) frames.push({ kind: f.kind, payload: Uint8Array.from(f.payload) });
  return frames;
}

const isTooLarge = (e: unknown) => e instanceof CocoError && e.code === 'FrameTooLarge';

test('the header is a 4-byte big-endian payload length, then the kind', () => {
  assert.deepEqual(encodeFrameHeader(7, 0x01020304), Uint8Array.of(1, 2, 3, 4, 7));
  assert.deepEqual(encodeFrameHeader(255, 0xffff_ffff), Uint8Array.of(255, 255, 255, 255, 255));
  assert.equal(FRAME_HEADER_BYTES, 5);
});

test('a frame kind outside a byte or a length outside 32 bits is a bug', () => {
  for (const [kind, length] of [[256, 0], [-1, 0], [1.5, 0], [0, 2 ** 32], [0, -1]] as const) {
    assert.throws(() => encodeFrameHeader(kind, length), (e: unknown) => e instanceof CocoError && e.code === 'InternalError');
  }
});

test('the reader defaults to the 128 MiB limit', () => {
  assert.equal(new FrameReader().payloadBytesMax, FRAME_PAYLOAD_BYTES_MAX);
  assert.equal(FRAME_PAYLOAD_BYTES_MAX, 128 * 1024 * 1024);
});

const stream = Uint8Array.from([
  ...frame(1, Uint8Array.of(10, 11, 12)),
  ...frame(2, new Uint8Array(0)),
  ...frame(3, Uint8Array.from({ length: 40 }, (_, i) => i)),
  ...frame(0, Uint8Array.of(99)),
]);
const expected: Frame[] = [
  { kind: 1, payload: Uint8Array.of(10, 11, 12) },
  { kind: 2, payload: new Uint8Array(0) },
  { kind: 3, payload: Uint8Array.from({ length: 40 }, (_, i) => i) },
  { kind: 0, payload: Uint8Array.of(99) },
];

test('frames come out whole and in order however the stream is split', () => {
  for (let cut1 = 0; cut1 <= stream.length; cut1++) {
    for (const cut2 of [cut1, Math.min(cut1 + 1, stream.length), Math.min(cut1 + 7, stream.length)]) {
      const reader = new FrameReader();
      const frames: Frame[] = [];
      for (const chunk of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) {
        reader.push(chunk);
        frames.push(...drain(reader));
      }
      assert.deepEqual(frames, expected, `cut at ${cut1}, ${cut2}`);
      assert.equal(reader.bufferedBytes, 0);
    }
  }
});

test('a stream fed one byte at a time yields each frame once it is complete', () => {
  const reader = new FrameReader();
  const frames: Frame[] = [];
  for (const byte of stream) {
    reader.push(Uint8Array.of(byte));
    frames.push(...drain(reader));
  }
  assert.deepEqual(frames, expected);
});

test('a partial frame stays buffered until the rest arrives', () => {
  const reader = new FrameReader();
  reader.push(stream.subarray(0, 6));
  assert.equal(reader.next(), undefined);
  assert.equal(reader.bufferedBytes, 1);
  reader.push(stream.subarray(6, 8));
  assert.deepEqual(drain(reader), [expected[0]]);
});

test('a declared length above the maximum is refused from its header alone, and the reader stays refused', () => {
  const reader = new FrameReader(16);
  reader.push(frame(1, new Uint8Array(16)));
  assert.equal(drain(reader).length, 1);
  reader.push(encodeFrameHeader(1, 17));
  assert.throws(() => reader.next(), isTooLarge);
  assert.throws(() => reader.next(), isTooLarge);
  assert.throws(() => reader.push(Uint8Array.of(1)), isTooLarge);
});

test('a 4 GiB declaration is refused without buffering anything for it', () => {
  const reader = new FrameReader();
  reader.push(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
  assert.throws(() => reader.next(), isTooLarge);
});
