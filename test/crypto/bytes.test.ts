import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareBytes,
  concatBytes,
  equalBytes,
  fromBase64,
  fromHex,
  fromUtf8,
  isValidUtf8,
  isWholeBuffer,
  plainBytes,
  toBase64,
  toHex,
  utf8,
} from '../../src/crypto/bytes.js';

describe('utf8', () => {
  it('round-trips text including non-ASCII characters', () => {
    const text = 'ccf ✓ 𝄞 é';
    assert.deepEqual(utf8('é'), Uint8Array.of(0xc3, 0xa9));
    assert.equal(fromUtf8(utf8(text)), text);
  });

  it('tells valid from invalid UTF-8', () => {
    const cases: [string, number[], boolean][] = [
      ['empty', [], true],
      ['ascii', [0x61, 0x62], true],
      ['two-byte sequence', [0xc3, 0xa9], true],
      ['lone continuation byte', [0x80], false],
      ['truncated two-byte sequence', [0xc3], false],
      ['0xff never appears in UTF-8', [0xff], false],
      ['overlong encoding of "/"', [0xc0, 0xaf], false],
    ];
    for (const [name, bytes, valid] of cases) assert.equal(isValidUtf8(Uint8Array.from(bytes)), valid, name);
  });

  it('decodes invalid UTF-8 leniently with replacement characters', () => {
    assert.equal(fromUtf8(Uint8Array.of(0x61, 0xff)), 'a\ufffd');
  });
});

describe('hex', () => {
  it('round-trips bytes as lowercase hex and accepts uppercase input', () => {
    assert.equal(toHex(Uint8Array.of(0x00, 0xab, 0xff)), '00abff');
    assert.deepEqual(fromHex('00ABff'), Uint8Array.of(0x00, 0xab, 0xff));
    assert.deepEqual(fromHex(''), new Uint8Array(0));
  });

  it('encodes only the viewed bytes of a subarray', () => {
    const whole = Uint8Array.of(1, 2, 3, 4);
    assert.equal(toHex(whole.subarray(1, 3)), '0203');
  });

  it('rejects odd-length or non-hex text with InvalidHex', () => {
    for (const bad of ['abc', 'zz', '0x00', 'ab cd']) {
      assert.throws(() => fromHex(bad), { name: 'CocoError', code: 'InvalidHex' }, bad);
    }
  });
});

describe('base64', () => {
  it('round-trips bytes and ignores whitespace such as PEM line breaks', () => {
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => i * 7);
    const text = toBase64(bytes);
    assert.deepEqual(fromBase64(text), bytes);
    assert.deepEqual(fromBase64(`${text.slice(0, 10)}\n ${text.slice(10)}\r\n`), bytes);
    assert.equal(toBase64(utf8('ccf')), 'Y2Nm');
  });

  it('encodes only the viewed bytes of a subarray', () => {
    assert.equal(toBase64(Uint8Array.of(0, 0x63, 0x63, 0x66, 0).subarray(1, 4)), 'Y2Nm');
  });

  it('rejects text that is not base64 with InvalidBase64', () => {
    for (const bad of ['Y2N*', 'Y2Nm=Y2Nm', 'Y', 'Y2Nm===', 'Y2Nm-_']) {
      assert.throws(() => fromBase64(bad), { name: 'CocoError', code: 'InvalidBase64' }, bad);
    }
  });
});

describe('concatBytes / equalBytes / compareBytes', () => {
  it('concatenates in order, including empty parts', () => {
    assert.deepEqual(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3)), Uint8Array.of(1, 2, 3));
    assert.deepEqual(concatBytes(), new Uint8Array(0));
  });

  it('compares contents, not identity or length alone', () => {
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), true);
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)), false);
    assert.equal(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0)), false);
    assert.equal(equalBytes(new Uint8Array(0), new Uint8Array(0)), true);
  });

  it('orders byte strings lexicographically with a prefix first', () => {
    const cases: [number[], number[], number][] = [
      [[], [], 0],
      [[], [0], -1],
      [[1], [1, 0], -1],
      [[2], [1, 255], 1],
      [[0x7f], [0x80], -1],
      [[1, 2], [1, 2], 0],
    ];
    for (const [a, b, sign] of cases) {
      assert.equal(Math.sign(compareBytes(Uint8Array.from(a), Uint8Array.from(b))), sign, `${a} vs ${b}`);
    }
  });
});

describe('plainBytes', () => {
  it('views a Buffer as a plain Uint8Array over the same memory', () => {
    const buffer = Buffer.from([9, 8, 7, 6]).subarray(1, 3);
    const view = plainBytes(buffer);
    assert.equal(Object.getPrototypeOf(view), Uint8Array.prototype);
    assert.deepEqual(view, Uint8Array.of(8, 7));
    buffer[0] = 1;
    assert.equal(view[0], 1);
  });

  it('returns a plain Uint8Array unchanged', () => {
    const bytes = Uint8Array.of(1);
    assert.equal(plainBytes(bytes), bytes);
  });
});

describe('isWholeBuffer', () => {
  it('says whether a long array is the whole of its buffer, and false for short arrays, which callers copy', () => {
    const long = new Uint8Array(100);
    assert.equal(isWholeBuffer(long), true);
    assert.equal(isWholeBuffer(long.subarray(1)), false);
    assert.equal(isWholeBuffer(long.subarray(0, 99)), false);
    assert.equal(isWholeBuffer(new Uint8Array(new ArrayBuffer(200), 0, 100)), false);
    assert.equal(isWholeBuffer(new Uint8Array(20)), false);
    assert.equal(isWholeBuffer(new Uint8Array(0)), false);
  });
});
