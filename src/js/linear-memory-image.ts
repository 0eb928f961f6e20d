// A copy of a QuickJS instance's WebAssembly memory, to put an interpreter back exactly as it was:
// QuickJS keeps all of its state (runtime, context, objects, compiled code, the allocator's own
// bookkeeping) in that memory, so restoring the bytes restores the interpreter, far faster than
// building a new runtime and context and evaluating the `ccf` prelude again.
//
// The copy stops at the last non-zero byte. Everything an allocator hands out lies below a header
// it wrote after it (the next chunk's, or the free top's), whose size field is never zero; what lies
// beyond is memory no allocation owns yet, whose content nothing reads before writing it.

import { Buffer } from 'node:buffer';

/** The memory a QuickJS instance runs in (its `getWasmMemory()`). */
export interface LinearMemory {
  readonly buffer: ArrayBufferLike;
}

export class LinearMemoryImage {
  readonly #bytes: Uint8Array;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Copies `memory` up to its last non-zero byte. */
  static capture(memory: LinearMemory): LinearMemoryImage {
    const view = new Uint8Array(memory.buffer);
    const length = usedLength(view);
    // Not zero-filled first: every byte is copied over at once.
    const bytes = Buffer.allocUnsafeSlow(length);
    bytes.set(view.subarray(0, length));
    return new LinearMemoryImage(bytes);
  }

  /** Bytes the image holds. */
  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /**
   * Puts the captured bytes back. Bytes beyond the image are left as calls wrote them, which no
   * allocation owns once the allocator's bookkeeping is back; `clearBeyond` also zeroes them, so
   * that an image captured next is no longer than its content.
   */
  restore(memory: LinearMemory, clearBeyond = false): void {
    const view = new Uint8Array(memory.buffer);
    // Only up to the last non-zero byte: finding it compares memory natively, faster than zeroing all.
    const dirtyEnd = clearBeyond ? usedLength(view) : 0;
    view.set(this.#bytes);
    if (dirtyEnd > this.#bytes.byteLength) view.fill(0, this.#bytes.byteLength, dirtyEnd);
  }
}

/** Zero bytes to compare whole blocks of memory with (a native comparison, much faster than a loop). */
const ZERO_BLOCK = Buffer.alloc(64 * 1024);

/** The length of `view` without its trailing zero bytes, rounded up to whole 8-byte words. */
function usedLength(view: Uint8Array): number {
  const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  let end = bytes.length;
  while (end > 0) {
    const start = Math.max(0, end - ZERO_BLOCK.length);
    if (!bytes.subarray(start, end).equals(ZERO_BLOCK.subarray(0, end - start))) break;
    end = start;
  }
  while (end > 0 && bytes[end - 1] === 0) end--;
  return Math.ceil(end / 8) * 8;
}
