import assert from 'node:assert/strict';
import test from 'node:test';
import { concatBytes } from '../../src/crypto/bytes.js';
import { ByteWriter } from '../../src/kv/byte-writer.js';
import { KEPT_AS_IS_BYTES_MIN, PieceReader, PieceWriter } from '../../src/ledger/byte-pieces.js';

const pattern = (length: number, seed: number): Uint8Array => new Uint8Array(length).map((_, i) => (i * 7 + seed) % 256);

test('a piece writer writes the bytes a ByteWriter does, a u64 slot included, keeping large arrays as they are', () => {
  const large = pattern(KEPT_AS_IS_BYTES_MIN, 1);
  const small = pattern(KEPT_AS_IS_BYTES_MIN - 1, 2);
  const pieces = new PieceWriter();
  const bytes = new ByteWriter();
  pieces.u64(1).i64(-2n).sizedBytes(small);
  bytes.u64(1).i64(-2n).sizedBytes(small);
  const slot = pieces.u64Slot();
  bytes.u64(0);
  for (let i = 0; i < 20; i++) {
    pieces.sizedBytes(large).bytes(small).bytes(new Uint8Array(0));
    bytes.sizedBytes(large).bytes(small);
  }
  pieces.setU64(slot, 42);
  bytes.setU64(24 + small.length, 42);
  assert.equal(pieces.size, bytes.size);
  const written = pieces.finish();
  assert.deepEqual(concatBytes(...written), bytes.finish());
  assert.equal(written.filter((piece) => piece === large).length, 20, 'each large array is a piece of its own, not a copy');
  assert.ok(written.every((piece) => piece.length > 0));
  assert.throws(() => pieces.u64(1), /finished piece writer/);
});

test('a piece writer writes a latin1 string as one byte per char, short into its chunk, long as a piece of its own', () => {
  const short = String.fromCharCode(0, 0x41, 0x80, 0xe9, 0xff);
  const long = String.fromCharCode(...pattern(KEPT_AS_IS_BYTES_MIN, 3));
  const pieces = new PieceWriter().u64(1).latin1(short).latin1('').latin1(long).u64(2).finish();
  assert.deepEqual(concatBytes(...pieces), new ByteWriter().u64(1).bytes(Uint8Array.of(0, 0x41, 0x80, 0xe9, 0xff)).bytes(pattern(KEPT_AS_IS_BYTES_MIN, 3)).u64(2).finish());
  assert.ok(pieces.some((piece) => piece.length === KEPT_AS_IS_BYTES_MIN), 'the long string is a piece of its own');
});

test('a piece reader hands the pieces back in order, at most the bytes asked for each time', () => {
  const pieces = [pattern(10, 1), new Uint8Array(0), pattern(1, 2), pattern(25, 3), new Uint8Array(0)];
  const whole = concatBytes(...pieces);
  for (const maxBytes of [1, 3, 10, 11, 100]) {
    const reader = new PieceReader(pieces);
    const read: Uint8Array[] = [];
    while (!reader.atEnd) {
      const views = reader.read(maxBytes);
      const bytes = views.reduce((sum, view) => sum + view.length, 0);
      assert.ok(bytes >= 1 && bytes <= maxBytes, `${bytes} bytes read of at most ${maxBytes}`);
      read.push(...views);
    }
    assert.equal(reader.bytesRead, whole.length);
    assert.deepEqual(concatBytes(...read), whole, `${maxBytes} bytes at a time`);
    assert.deepEqual(reader.read(maxBytes), []);
  }
  assert.ok(new PieceReader([new Uint8Array(0)]).atEnd);
});
