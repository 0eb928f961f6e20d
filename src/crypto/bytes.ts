// Byte helpers shared by every layer: hex, base64, UTF-8, concatenation and comparison over
// Uint8Array. Decoders reject malformed input instead of guessing.

import { CocoError } from '../errors.js';

const textEncoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Decodes UTF-8, replacing invalid sequences; use `isValidUtf8` first where that matters. */
export function fromUtf8(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes);
}

export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CocoError('InvalidHex', `expected an even number of hex digits, got ${JSON.stringify(hex.slice(0, 40))}`);
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw new CocoError('InvalidBase64', `expected base64 text, got ${JSON.stringify(text.slice(0, 40))}`);
  }
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/** V8 keeps a typed array of at most this many bytes on its heap, with no ArrayBuffer of its own. */
const ON_HEAP_BYTES_MAX = 64;

/**
 * Whether `bytes` is the whole of its buffer, so that the buffer can stand for it. Asked only of
 * arrays too long to live on V8's heap: asking a short one for its `.buffer` moves its bytes off the
 * heap into a buffer of their own for good (~150 bytes more for each such array kept, a store's
 * values), so short arrays answer false, and callers copy them, cheaply.
 */
export function isWholeBuffer(bytes: Uint8Array): boolean {
  return bytes.length > ON_HEAP_BYTES_MAX && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

/**
 * A plain Uint8Array over the same memory as `bytes` (no copy). node:crypto returns Buffers; handing
 * them on as plain Uint8Arrays keeps results comparable with deepStrictEqual and free of Buffer quirks.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Orders byte strings lexicographically (shorter prefix first): the key order of ordered map views. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
